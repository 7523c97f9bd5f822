"""The logbook's lines for ended calls: who called whom, and how it went."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.callerid.const import DOMAIN, EVENT_CALL_ENDED
from custom_components.callerid.logbook import async_describe_events
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .conftest import NUMBER, RECIPIENT
from .test_call_status import event as status_event, hook_path

LAST_CALL_ID = "sensor.49_176_12345678_last_call"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Any, enable_custom_integrations: None
) -> None:
    """Start the recorder before Home Assistant: the logbook reads what it wrote."""


@pytest.mark.parametrize(
    ("status", "answered", "duration", "message"),
    [
        ("completed", True, 42, "called +49 30 123456: answered, 42 s"),
        (
            "completed",
            False,
            5,
            "called +49 30 123456: not answered (hung up after 5 s)",
        ),
        ("no-answer", False, 0, "called +49 30 123456: not answered (no-answer)"),
    ],
)
async def test_call_ended_in_the_logbook(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    status: str,
    answered: bool,
    duration: int,
    message: str,
) -> None:
    """Each ended call is a line on its caller ID's Last call sensor."""
    described: dict[str, Callable[[Event], dict[str, Any]]] = {}

    def describe_event(
        domain: str, event_type: str, describe: Callable[[Event], dict[str, Any]]
    ) -> None:
        assert domain == DOMAIN
        described[event_type] = describe

    async_describe_events(hass, describe_event)
    event = Event(
        EVENT_CALL_ENDED,
        {
            "config_entry_id": init_integration.entry_id,
            "call_id": placed,
            "from": NUMBER,
            "to": RECIPIENT,
            "status": status,
            "answered": answered,
            "duration": duration,
        },
    )
    assert described[EVENT_CALL_ENDED](event) == {
        "name": "+49 176 12345678",
        "message": message,
        "entity_id": LAST_CALL_ID,
    }


@pytest.mark.parametrize(
    "where",
    [
        # The Last call sensor's own logbook (its dialog, a logbook card of it).
        "entity_ids",
        # The caller ID's device page.
        "device_ids",
    ],
)
async def test_call_ended_on_the_caller_ids_own_logbook(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    hass_client_no_auth: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
    entity_registry: er.EntityRegistry,
    where: str,
) -> None:
    """Home Assistant's logbook shows the call's line where the caller ID is shown."""
    assert await async_setup_component(hass, "logbook", {})
    start = dt_util.utcnow().isoformat()
    client = await hass_client_no_auth()
    sent = await client.post(hook_path(init_integration), json=status_event(placed))
    assert sent.status == 200
    await async_wait_recording_done(hass)
    last_call = entity_registry.async_get(LAST_CALL_ID)
    assert last_call is not None
    shown_on = {"entity_ids": last_call.entity_id, "device_ids": last_call.device_id}
    ws = await hass_ws_client()
    await ws.send_json_auto_id(
        {"type": "logbook/get_events", "start_time": start, where: [shown_on[where]]}
    )
    lines = (await ws.receive_json())["result"]
    assert {
        "name": "+49 176 12345678",
        "message": "called +49 30 123456: answered, 17 s",
        "entity_id": LAST_CALL_ID,
        "domain": DOMAIN,
    } in [{k: v for k, v in line.items() if k != "when"} for line in lines]
