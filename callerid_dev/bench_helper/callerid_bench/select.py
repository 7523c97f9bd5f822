"""Floor selects: the integration's Test call to, with a constant option."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import BareEntity, add_entities, bare_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the select slots of each index."""
    add_entities(entry, async_add_entities, bare_entities(entry, SelectEntity))


class BareTestCallTo(BareEntity, SelectEntity):
    """A configuration select of one option, the index's number."""

    _attr_translation_key = "test_call_to"
    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, entry: ConfigEntry, index: int, slot: int) -> None:
        """Offer the number alone."""
        super().__init__(entry, index, slot)
        self._attr_options = [f"+49 151 {index:08d}"]
        self._attr_current_option = self._attr_options[0]

    async def async_select_option(self, option: str) -> None:
        """Do nothing: there is one option."""
