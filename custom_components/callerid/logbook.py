"""Calls in the logbook, on the caller ID's Last call: "… called … answered, 42 s"."""

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_CALL_ENDED
from .helpers import last_call_entity_id
from .phone import format_number


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the end of each call."""

    @callback
    def describe(event: Event) -> dict[str, Any]:
        data = event.data
        sender, recipient = data["from"], data["to"]
        if data["answered"]:
            ending = f"answered, {data['duration']} s"
        elif data["status"] == "completed":
            # Picked up, but shorter than the minimum talk time: a voicemail.
            ending = f"not answered (hung up after {data['duration']} s)"
        else:
            ending = f"not answered ({data['status']})"
        described = {
            LOGBOOK_ENTRY_NAME: format_number(sender),
            LOGBOOK_ENTRY_MESSAGE: f"called {format_number(recipient)}: {ending}",
        }
        if entity_id := last_call_entity_id(hass, data["config_entry_id"], sender):
            described[LOGBOOK_ENTRY_ENTITY_ID] = entity_id
        return described

    async_describe_event(DOMAIN, EVENT_CALL_ENDED, describe)
