"""Per recipient: how each call to them ended, for automations (`event.received`)."""

from collections.abc import Mapping
from typing import Any

from homeassistant.components.event import EventEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_NUMBER, EVENT_CALL_ENDED
from .coordinator import CallerIdConfigEntry
from .entity import async_add_recipient_entities, recipient_device
from .models import CallOutcome

PARALLEL_UPDATES = 0
# How a call ended: the outcomes other than Calling.
EVENT_TYPES = [o.value for o in CallOutcome if o is not CallOutcome.CALLING]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CallerIdConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a Call event entity for each of the account's recipients."""
    async_add_recipient_entities(entry, async_add_entities, RecipientCallEvent)


class RecipientCallEvent(EventEntity):
    """Each call of the account to the recipient's number, as it ends."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "call"
    _attr_event_types = EVENT_TYPES

    def __init__(self, entry: CallerIdConfigEntry, recipient: ConfigSubentry) -> None:
        """Tie the entity to its recipient's device."""
        self._entry_id = entry.entry_id
        self._number = recipient.data[CONF_NUMBER]
        self._attr_unique_id = f"{recipient.subentry_id}_call"
        self._attr_device_info = recipient_device(recipient)

    async def async_added_to_hass(self) -> None:
        """Follow the ends of the account's calls to the recipient."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.hass.bus.async_listen(
                EVENT_CALL_ENDED, self._ended, event_filter=self._to_recipient
            )
        )

    @callback
    def _to_recipient(self, data: Mapping[str, Any]) -> bool:
        return bool(
            data["config_entry_id"] == self._entry_id and data["to"] == self._number
        )

    @callback
    def _ended(self, event: Event) -> None:
        data = event.data
        self._trigger_event(
            data["outcome"],
            {key: data[key] for key in ("from", "call_id", "status", "duration")},
        )
        self.async_write_ha_state()
