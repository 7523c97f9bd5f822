"""Floor sensors: the further entities of each index, of the integration's sensors' shape.

The enabled slots are, in turn, a status (an enum with attributes), a last call (an
enum) and the device page's controls (button.py, select.py); the disabled ones a
diagnostic timestamp. Their values are constants.
"""

from __future__ import annotations

from datetime import UTC, datetime

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import BareEntity, add_entities, enabled_kind

PARALLEL_UPDATES = 0

# The integration's options: its validation statuses and its calls' outcomes.
STATUS_OPTIONS = ["pending", "validated", "failed", "expired"]
LAST_CALL_OPTIONS = ["calling", "answered", "not_answered", "failed"]
REQUESTED_AT = "2026-01-01T00:00:00+00:00"
COMPLETED_AT = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add `entities - 1` enabled and `disabled` disabled sensors per index."""
    enabled = entry.data.get("entities", 1)
    disabled = entry.data.get("disabled", 0)
    add_entities(
        entry,
        async_add_entities,
        (
            kind(entry, index, slot)
            for index in range(entry.data["count"])
            for slot in range(1, enabled + disabled)
            if issubclass(
                kind := enabled_kind(slot) if slot < enabled else BareCompletedSensor,
                SensorEntity,
            )
        ),
    )


class BareStatusSensor(BareEntity, SensorEntity):
    """An enum of the statuses, validated, with when the validation started."""

    _attr_translation_key = "status"
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = STATUS_OPTIONS
    _attr_native_value = "validated"
    _unrecorded_attributes = frozenset({"error", "requested_at"})

    def __init__(self, entry: ConfigEntry, index: int, slot: int) -> None:
        """Give it the attributes of a validated number: when it was asked for."""
        super().__init__(entry, index, slot)
        self._attr_extra_state_attributes = {"requested_at": REQUESTED_AT}


class BareLastCallSensor(BareEntity, SensorEntity):
    """An enum of the calls' outcomes; unknown, as the integration's is before a call."""

    _attr_translation_key = "last_call"
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = LAST_CALL_OPTIONS
    _attr_native_value = None


class BareCompletedSensor(BareEntity, SensorEntity):
    """A diagnostic timestamp, disabled by default."""

    _attr_translation_key = "completed"
    _attr_device_class = SensorDeviceClass.TIMESTAMP
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_entity_registry_enabled_default = False
    _attr_native_value = COMPLETED_AT
