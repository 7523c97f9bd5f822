"""One binary sensor per number: on when seven.io accepts it as caller ID."""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import CallerIdConfigEntry
from .entity import CallerIdEntity
from .store import NumberRecord, NumberStore

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CallerIdConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a sensor for every stored number, and for each new one as it appears."""
    store = entry.runtime_data.store

    @callback
    def add(record: NumberRecord) -> None:
        async_add_entities([CallerIdValidatedSensor(entry, store, record)])

    async_add_entities(
        CallerIdValidatedSensor(entry, store, record)
        for record in store.records.values()
    )
    entry.async_on_unload(store.async_listen_new(add))


class CallerIdValidatedSensor(CallerIdEntity, BinarySensorEntity):
    """Whether one number is validated as caller ID."""

    _attr_translation_key = "validated"

    def __init__(
        self, entry: CallerIdConfigEntry, store: NumberStore, record: NumberRecord
    ) -> None:
        """Start from the stored record."""
        super().__init__(entry, record, "validated")
        self._store = store
        self._record = record

    async def async_added_to_hass(self) -> None:
        """Follow the number's record."""
        await super().async_added_to_hass()
        self.async_on_remove(self._store.async_listen(self._number, self._update))
        # The record may have changed between creation and now.
        if (record := self._store.get(self._number)) is not None:
            self._record = record

    @callback
    def _update(self, record: NumberRecord) -> None:
        self._record = record
        self.async_write_ha_state()

    @property
    def is_on(self) -> bool:
        """Return whether the number may be used as caller ID."""
        return self._record.validated

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return what seven.io said about the number."""
        record = self._record
        return {
            "number": record.number,
            "status": record.status.value,
            "voice": record.voice,
            "caller_id": record.caller_id,
            "error": record.error,
            "requested_at": record.requested_at.isoformat(),
            "completed_at": record.completed_at.isoformat()
            if record.completed_at
            else None,
        }
