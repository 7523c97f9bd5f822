"""Shared base of the integration's entities."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.helpers.device_registry import (
    DeviceEntry,
    DeviceEntryType,
    DeviceInfo,
)
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .store import NumberRecord


def _device_identifier(entry: ConfigEntry, number: str) -> tuple[str, str]:
    return (DOMAIN, f"{entry.entry_id}_{number}")


def number_from_device(entry: ConfigEntry, device: DeviceEntry) -> str | None:
    """Return the E.164 number a device of `entry` stands for."""
    prefix = f"{entry.entry_id}_"
    for domain, identifier in device.identifiers:
        if domain == DOMAIN and identifier.startswith(prefix):
            return identifier.removeprefix(prefix)
    return None


class CallerIdEntity(Entity):
    """An entity of one number, on that number's device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: ConfigEntry, record: NumberRecord, key: str) -> None:
        """Tie the entity to the entry and the record's number."""
        number = self._number = record.number
        self._attr_unique_id = f"{entry.entry_id}_{number}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={_device_identifier(entry, number)},
            name=record.formatted,
            manufacturer="seven.io",
            model="Caller ID",
            entry_type=DeviceEntryType.SERVICE,
        )
