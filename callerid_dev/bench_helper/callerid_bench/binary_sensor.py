"""Bare binary sensors: the least an entity per number can cost, with or without a device."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import BareEntity


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the first entity of each index: a binary sensor, as each number's Caller ID is."""
    async_add_entities(
        BareBinarySensor(entry, index, 0) for index in range(entry.data["count"])
    )


class BareBinarySensor(BareEntity, BinarySensorEntity):
    """A binary sensor with a unique id and nothing else."""

    _attr_is_on = False
