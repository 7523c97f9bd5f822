"""Floor binary sensors: one per index, of the shape of the integration's Caller ID sensor."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import BareEntity, add_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the first entity of each index: a binary sensor, as each number's Caller ID is."""
    add_entities(
        entry,
        async_add_entities,
        (BareBinarySensor(entry, index, 0) for index in range(entry.data["count"])),
    )


class BareBinarySensor(BareEntity, BinarySensorEntity):
    """On, with the integration's attributes (number, voice, caller ID) as constants."""

    _attr_translation_key = "validated"
    _attr_is_on = True

    def __init__(self, entry: ConfigEntry, index: int, slot: int) -> None:
        """Give it the attributes of a validated number: text, a flag, an id as text."""
        super().__init__(entry, index, slot)
        self._attr_extra_state_attributes = {
            "number": f"+49151{index:08d}",
            "voice": True,
            "caller_id": str(1_000_000 + index),
        }
