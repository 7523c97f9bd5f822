"""Bare sensors: the further entities of each index, enabled or disabled by default."""

from __future__ import annotations

from homeassistant.components.sensor import SensorEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import BareEntity


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add `entities - 1` enabled and `disabled` disabled sensors per index."""
    enabled = entry.data.get("entities", 1)
    disabled = entry.data.get("disabled", 0)
    async_add_entities(
        BareSensor(entry, index, slot, enabled=slot < enabled)
        for index in range(entry.data["count"])
        for slot in range(1, enabled + disabled)
    )


class BareSensor(BareEntity, SensorEntity):
    """A sensor with a unique id and nothing else; its state is unknown."""

    def __init__(
        self, entry: ConfigEntry, index: int, slot: int, *, enabled: bool
    ) -> None:
        """Name it by index and slot; disabled by default if asked."""
        super().__init__(entry, index, slot)
        self._attr_entity_registry_enabled_default = enabled
