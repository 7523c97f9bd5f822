"""Bare binary sensors: the least an entity per number can cost, with or without a device."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors."""
    devices = entry.data.get("devices", False)
    async_add_entities(
        BareSensor(entry.entry_id, index, device=devices)
        for index in range(entry.data["count"])
    )


class BareSensor(BinarySensorEntity):
    """A binary sensor with a unique id and nothing else."""

    _attr_should_poll = False
    _attr_is_on = False

    def __init__(self, entry_id: str, index: int, *, device: bool) -> None:
        """Name it by index; give it a device of its own if asked."""
        self._attr_unique_id = f"{entry_id}_{index}"
        self._attr_name = f"bench {index}"
        if device:
            self._attr_device_info = DeviceInfo(
                identifiers={("callerid_bench", self._attr_unique_id)},
                name=f"bench device {index}",
            )
