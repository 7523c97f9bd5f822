"""Tests of the shipped blueprint: Home Assistant accepts it and it uses the action."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
from pathlib import Path
import shutil
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from homeassistant.components import automation, persistent_notification
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import models
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import config_validation as cv
from homeassistant.setup import async_setup_component
from homeassistant.util import yaml as yaml_util

from .conftest import (
    ALREADY,
    ENTRY_ID,
    NUMBER,
    SEVEN_OK,
    answer_validation,
    callback_path,
    validate_calls,
)

BLUEPRINT = (
    Path(__file__).parent.parent
    / "blueprints"
    / "automation"
    / "callerid"
    / "validate_and_notify.yaml"
)
AUTOMATION = "automation.validate_caller_id"
# The notification the integration shows with a number's code.
CODE_NOTIFICATION = f"callerid_{ENTRY_ID}_{NUMBER}"
# A phone's device id, as the device selector gives it.
PHONE = "0123456789abcdef"


async def test_blueprint_is_valid(hass: HomeAssistant) -> None:
    """The blueprint and the automation it makes pass Home Assistant's schemas."""
    blueprint = models.Blueprint(
        yaml_util.load_yaml_dict(BLUEPRINT),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    assert blueprint.name == "Validate a number and send me the code"
    assert set(blueprint.inputs) == {
        "button",
        "when",
        "number",
        "account",
        "notify_device",
        "wait",
    }
    inputs = models.BlueprintInputs(
        blueprint,
        {
            "use_blueprint": {
                "path": "callerid/validate_and_notify.yaml",
                "input": {
                    "button": "input_button.validate_caller_id",
                    "number": "0176 12345678",
                    "notify_device": "0123456789abcdef",
                },
            }
        },
    )
    inputs.validate()
    config: dict[str, Any] = inputs.async_substitute()
    # An automation saved with the first version's inputs keeps its button.
    assert cv.TRIGGER_SCHEMA(config["triggers"]) == [
        {
            "platform": "button.pressed",
            "enabled": "{{ button | length > 0 }}",
            "target": {"entity_id": "input_button.validate_caller_id"},
        }
    ]
    actions = cv.SCRIPT_SCHEMA(config["actions"])
    assert actions[0]["action"] == "callerid.validate"
    data = actions[0]["data"]
    assert data.async_render({"number": "0176", "account": ""}) == {"number": "0176"}
    assert data.async_render({"number": "0176", "account": "abc"}) == {
        "number": "0176",
        "config_entry_id": "abc",
    }
    assert config["variables"] == {
        "number": "0176 12345678",
        "account": "",
        "phone": "0123456789abcdef",
        "has_phone": "{{ phone is string and phone != '' }}",
    }


async def set_up_automation(hass: HomeAssistant, inputs: dict[str, Any]) -> None:
    """Install the blueprint and an automation made from it with these inputs."""
    folder = Path(hass.config.path("blueprints", "automation", "callerid"))
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(BLUEPRINT, folder / BLUEPRINT.name)
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "alias": "Validate caller ID",
                "use_blueprint": {
                    "path": "callerid/validate_and_notify.yaml",
                    "input": inputs,
                },
            }
        },
    )
    state = hass.states.get(AUTOMATION)
    assert state is not None
    # A blueprint Home Assistant cannot make an automation of leaves it unavailable.
    assert state.state == STATE_ON


async def settle(hass: HomeAssistant) -> None:
    """Let the automation run as far as it can (it waits, so it cannot be awaited)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def until(check: Callable[[], bool]) -> None:
    """Wait (10 s at most) until `check` holds: a run also waits on the executor (saves)."""
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the automation did not get there")


async def ran(hass: HomeAssistant) -> State:
    """Let the automation's run end; return the automation's state (it must end)."""
    async with asyncio.timeout(10):
        await hass.async_block_till_done()
    state = hass.states.get(AUTOMATION)
    assert state is not None
    assert state.attributes["last_triggered"] is not None
    assert state.attributes["current"] == 0
    return state


def notifications(hass: HomeAssistant) -> dict[str, dict[str, Any]]:
    """Return Home Assistant's persistent notifications by id."""
    return dict(persistent_notification._async_get_or_create_notifications(hass))


async def test_plain_install_no_phone(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No phone and no input_button: any trigger starts it, the code is in the notification."""
    assert "mobile_app" not in hass.config.components
    assert not hass.states.async_entity_ids("input_button")
    await set_up_automation(
        hass,
        {
            "when": [{"trigger": "event", "event_type": "test_validate"}],
            "number": "0176 12345678",
        },
    )
    answer_validation(aioclient_mock, json={"success": True, "code": "424242"})

    hass.bus.async_fire("test_validate")
    await ran(hass)

    (request,) = validate_calls(aioclient_mock)
    assert request[2]["number"] == NUMBER
    assert "424242" in notifications(hass)[CODE_NOTIFICATION]["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("answer", "title", "message"),
    [
        (
            {"json": ALREADY},
            "Caller ID +49 176 12345678",
            "seven.io knows +49 176 12345678 as validated already.",
        ),
        (
            {"status": 503},
            "Caller ID validation did not start",
            "The number could not be called: see the Home Assistant log.",
        ),
    ],
    ids=["validated-already", "not-started"],
)
async def test_plain_install_says_what_the_integration_does_not(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    answer: dict[str, Any],
    title: str,
    message: str,
) -> None:
    """No phone: a validated number or a refusal is told in a notification of its own."""
    await set_up_automation(
        hass,
        {
            "when": [{"trigger": "event", "event_type": "test_validate"}],
            "number": "0176 12345678",
        },
    )
    answer_validation(aioclient_mock, **answer)
    before = set(notifications(hass))

    hass.bus.async_fire("test_validate")
    await ran(hass)

    assert len(validate_calls(aioclient_mock)) == 1
    new = [n for key, n in notifications(hass).items() if key not in before]
    assert [(n["title"], n["message"]) for n in new] == [(title, message)]


async def test_button_and_phone(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The first version's inputs: an input button's first press, the phone gets both."""
    # A callback service: a plain function would run in the executor, late.
    sent = async_mock_service(hass, "notify", "send_message")
    assert await async_setup_component(
        hass, "input_button", {"input_button": {"validate_caller_id": {}}}
    )
    await set_up_automation(
        hass,
        {
            "button": "input_button.validate_caller_id",
            "number": "0176 12345678",
            "notify_device": PHONE,
        },
    )
    answer_validation(aioclient_mock, json={"success": True, "code": "424242"})

    # Never pressed before: the button's state is unknown, and the press counts.
    assert hass.states.get("input_button.validate_caller_id").state == "unknown"
    await hass.services.async_call(
        "input_button",
        "press",
        {"entity_id": "input_button.validate_caller_id"},
        blocking=True,
    )
    await until(lambda: len(sent) == 1)
    assert len(validate_calls(aioclient_mock)) == 1
    assert [c.data for c in sent] == [
        {
            "device_id": PHONE,
            "title": "Caller ID code for +49 176 12345678",
            "message": "seven.io is calling +49 176 12345678 now: answer and type "
            "424242 on the keypad.",
        }
    ]

    # Another number's result does not end the wait; this number's does.
    hass.bus.async_fire(
        "callerid_validation_completed",
        {"config_entry_id": ENTRY_ID, "number": "+4930123456", "success": False},
    )
    await settle(hass)
    assert len(sent) == 1
    client = await hass_client_no_auth()
    path = callback_path(aioclient_mock)
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    await ran(hass)
    assert [c.data for c in sent[1:]] == [
        {
            "device_id": PHONE,
            "title": "Caller ID +49 176 12345678",
            "message": "Validated.",
        }
    ]
