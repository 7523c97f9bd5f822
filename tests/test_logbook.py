"""The logbook's lines for ended calls: who called whom, and how it went."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.callerid.const import DOMAIN, EVENT_CALL_ENDED
from custom_components.callerid.logbook import async_describe_events
from homeassistant.core import Event, HomeAssistant

from .conftest import NUMBER, RECIPIENT

LAST_CALL_ID = "sensor.49_176_12345678_last_call"


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
