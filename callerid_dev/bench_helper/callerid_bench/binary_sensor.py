"""Bare binary sensors: the least an entity per number can cost."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors."""
    async_add_entities(
        BareSensor(entry.entry_id, index) for index in range(entry.data["count"])
    )


class BareSensor(BinarySensorEntity):
    """A binary sensor with a unique id and nothing else."""

    _attr_should_poll = False
    _attr_is_on = False

    def __init__(self, entry_id: str, index: int) -> None:
        """Name it by index."""
        self._attr_unique_id = f"{entry_id}_{index}"
        self._attr_name = f"bench {index}"
