"""Floor buttons: the integration's Validate again and Test call, doing nothing."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import BareEntity, add_entities, bare_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the button slots of each index."""
    add_entities(entry, async_add_entities, bare_entities(entry, ButtonEntity))


class BareValidateButton(BareEntity, ButtonEntity):
    """A button of the integration's key; pressing it does nothing."""

    _attr_translation_key = "validate_again"

    async def async_press(self) -> None:
        """Do nothing."""


class BareTestCallButton(BareEntity, ButtonEntity):
    """A button of the integration's key; pressing it does nothing."""

    _attr_translation_key = "test_call"

    async def async_press(self) -> None:
        """Do nothing."""
