"""The blueprints in blueprints/automation/callerid/, as Home Assistant loads and runs them."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from homeassistant.components import automation
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import Blueprint
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant, ServiceCall, SupportsResponse
from homeassistant.helpers import selector
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict

from .conftest import NUMBER

FOLDER = (
    Path(__file__).resolve().parent.parent / "blueprints" / "automation" / "callerid"
)
BLUEPRINTS = sorted(FOLDER.glob("*.yaml"))
CALL_UNTIL_ANSWERED = FOLDER / "call_until_answered.yaml"
CALLER_ID = "binary_sensor.49_176_12345678_caller_id"
# International format without spaces, as the integration writes numbers; one abroad.
PEOPLE = ["+4917611111111", "+33612345678", "+4940123456"]


def test_blueprints_found() -> None:
    """The folder holds the blueprints (a wrong path would let the tests below pass)."""
    assert CALL_UNTIL_ANSWERED in BLUEPRINTS


@pytest.mark.parametrize("path", BLUEPRINTS, ids=lambda path: path.name)
def test_blueprint_schema(path: Path) -> None:
    """Each blueprint passes Home Assistant's schema, with every !input declared."""
    blueprint = Blueprint(
        load_yaml_dict(path),
        path=str(path),
        expected_domain=automation.DOMAIN,
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    # Its minimum version is one this Home Assistant satisfies.
    assert blueprint.validate() is None
    for name, spec in blueprint.inputs.items():
        assert spec["name"], name
        selector.validate_selector(spec["selector"])


async def set_up(
    hass: HomeAssistant, call_ids: list[str], **extra: Any
) -> list[ServiceCall]:
    """Set up call_until_answered with a stand-in callerid.call; return its calls.

    The stand-in answers like the action: each call gets the next id of `call_ids`,
    as text (seven.io's ids are digits).
    """
    calls: list[ServiceCall] = []
    ids = iter(call_ids)

    async def call(service: ServiceCall) -> dict[str, Any]:
        calls.append(service)
        to = service.data["to"]
        if to == ["0000"]:
            return {"calls": [{"to": to, "call_id": None, "success": False}]}
        return {"calls": [{"to": to, "call_id": next(ids), "success": True}]}

    hass.services.async_register(
        "callerid", "call", call, supports_response=SupportsResponse.OPTIONAL
    )
    folder = Path(hass.config.path("blueprints", "automation", "callerid"))
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(CALL_UNTIL_ANSWERED, folder / CALL_UNTIL_ANSWERED.name)
    inputs: dict[str, Any] = {
        "when": [{"trigger": "event", "event_type": "test_alarm"}],
        "caller_id": CALLER_ID,
        "people": ["0000", *PEOPLE],
        "message": "The alarm went off.",
    }
    # An input given as None is left out.
    inputs = {
        key: value for key, value in (inputs | extra).items() if value is not None
    }
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "alias": "Call until answered",
                "use_blueprint": {
                    "path": "callerid/call_until_answered.yaml",
                    "input": inputs,
                },
            }
        },
    )
    state = hass.states.get("automation.call_until_answered")
    assert state is not None
    assert state.state == STATE_ON
    return calls


async def settle(hass: HomeAssistant) -> None:
    """Let the automation run as far as it can (it waits, so it cannot be awaited)."""
    for _ in range(50):
        await asyncio.sleep(0)


def ended(
    hass: HomeAssistant, call_id: str, *, answered: bool, duration: int = 12
) -> None:
    """Fire callerid_call_ended as the integration does."""
    hass.bus.async_fire(
        "callerid_call_ended",
        {
            "config_entry_id": "01JCALLERIDENTRY000000000",
            "call_id": call_id,
            "from": NUMBER,
            "to": PEOPLE[0],
            "status": "completed" if answered else "no-answer",
            "answered": answered,
            "duration": duration if answered else 0,
        },
    )


async def test_call_until_answered_stops_at_the_first_answer(
    hass: HomeAssistant,
) -> None:
    """The first is not answered, another call ends meanwhile, the second answers: stop."""
    calls = await set_up(hass, ["123456789", "123456790", "123456791"])
    hass.bus.async_fire("test_alarm")
    await settle(hass)
    # The mistyped number is tried and skipped; the first person rings.
    assert [c.data["to"] for c in calls] == [["0000"], [PEOPLE[0]]]
    assert calls[1].data == {
        "caller_id": CALLER_ID,
        "to": [PEOPLE[0]],
        "recipients": [],
        "message": "The alarm went off.",
        "ringtime": 30,
    }

    # Another call, answered: not the one this run waits for.
    ended(hass, "555", answered=True)
    await settle(hass)
    assert len(calls) == 2

    ended(hass, "123456789", answered=False)
    await settle(hass)
    assert [c.data["to"] for c in calls[1:]] == [[p] for p in PEOPLE[:2]]

    ended(hass, "123456790", answered=True)
    await settle(hass)
    assert [c.data["to"] for c in calls[1:]] == [[p] for p in PEOPLE[:2]]
    state = hass.states.get("automation.call_until_answered")
    assert state is not None
    assert state.attributes["current"] == 0


async def test_call_until_answered_without_a_trigger(hass: HomeAssistant) -> None:
    """Saved without a trigger, it runs from the automation's Run actions."""
    calls = await set_up(hass, ["123456789"], when=None)
    await hass.services.async_call(
        automation.DOMAIN,
        "trigger",
        {"entity_id": "automation.call_until_answered"},
        blocking=False,
    )
    await settle(hass)
    assert [c.data["to"] for c in calls] == [["0000"], [PEOPLE[0]]]


async def test_recipients_first_then_numbers(hass: HomeAssistant) -> None:
    """Recipients (their notify entities) are called first, then the numbers."""
    calls = await set_up(
        hass, ["123456789", "123456790"], recipients=["notify.alice"], people=PEOPLE
    )
    hass.bus.async_fire("test_alarm")
    await settle(hass)
    assert [(c.data["recipients"], c.data["to"]) for c in calls] == [
        (["notify.alice"], [])
    ]
    ended(hass, "123456789", answered=False)
    await settle(hass)
    assert [(c.data["recipients"], c.data["to"]) for c in calls[1:]] == [
        ([], [PEOPLE[0]])
    ]


async def test_call_until_answered_moves_on_when_no_report_comes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Without a report the next person is called after the wait, other calls or not."""
    calls = await set_up(
        hass, ["123456789", "123456790", "123456791"], wait={"seconds": 60}
    )
    hass.bus.async_fire("test_alarm")
    await settle(hass)
    assert [c.data["to"] for c in calls[1:]] == [[PEOPLE[0]]]

    # Other calls ending do not make the wait longer than the 60 s.
    freezer.tick(timedelta(seconds=40))
    async_fire_time_changed(hass)
    ended(hass, "555", answered=False)
    await settle(hass)
    assert len(calls) == 2
    freezer.tick(timedelta(seconds=21))
    async_fire_time_changed(hass)
    await settle(hass)
    assert [c.data["to"] for c in calls[1:]] == [[p] for p in PEOPLE[:2]]

    # Nobody answers and nothing is reported: each is called once, then the run ends.
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await settle(hass)
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await settle(hass)
    assert [c.data["to"] for c in calls[1:]] == [[p] for p in PEOPLE]
    state = hass.states.get("automation.call_until_answered")
    assert state is not None
    assert state.attributes["current"] == 0


async def test_rounds_pause_and_minimum_talk_time(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Two rounds with a pause before each call; a short answer (voicemail) is not one."""
    people = PEOPLE[:2]
    calls = await set_up(
        hass,
        [str(n) for n in range(100, 110)],
        people=people,
        rounds=2,
        pause={"seconds": 30},
        min_talk_time=10,
    )
    hass.bus.async_fire("test_alarm")
    await settle(hass)
    assert [c.data["to"] for c in calls] == [[people[0]]]

    async def next_call_after_pause(count: int) -> None:
        await settle(hass)
        assert len(calls) == count - 1, "called again before the pause"
        freezer.tick(timedelta(seconds=31))
        async_fire_time_changed(hass)
        await settle(hass)
        assert len(calls) == count

    # A voicemail picks up for 5 s: completed and answered to seven.io, not a person.
    ended(hass, "100", answered=True, duration=5)
    await next_call_after_pause(2)
    ended(hass, "101", answered=False)
    # The second round starts from the first person again.
    await next_call_after_pause(3)
    assert [c.data["to"] for c in calls] == [[people[0]], [people[1]], [people[0]]]
    ended(hass, "102", answered=True, duration=40)
    await settle(hass)
    freezer.tick(timedelta(seconds=31))
    async_fire_time_changed(hass)
    await settle(hass)
    assert len(calls) == 3
    state = hass.states.get("automation.call_until_answered")
    assert state is not None
    assert state.attributes["current"] == 0
