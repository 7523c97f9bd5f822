"""Per number: on when seven.io accepts it as caller ID. Per account: low balance."""

from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import CallerIdConfigEntry
from .entity import AccountEntity, CallerIdEntity, async_add_number_entities
from .models import NumberRecord

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CallerIdConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a sensor for every stored number, and for each new one as it appears."""
    async_add_number_entities(entry, async_add_entities, (CallerIdValidatedSensor,))
    async_add_entities([CallerIdLowBalanceSensor(entry.runtime_data)])


class CallerIdValidatedSensor(CallerIdEntity, BinarySensorEntity):
    """Whether one number is validated as caller ID."""

    _attr_translation_key = "validated"

    @callback
    def _update(self, record: NumberRecord) -> None:
        shown = self.is_on, self.extra_state_attributes
        self._record = record
        # A new validation of a number not validated yet changes nothing shown here.
        if (self.is_on, self.extra_state_attributes) != shown:
            self.async_write_ha_state()

    @property
    def is_on(self) -> bool:
        """Return whether the number may be used as caller ID."""
        return self._record.validated

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the number and what seven.io said about it, leaving out what is unknown."""
        record = self._record
        attributes = {
            "number": record.number,
            "voice": record.voice,
            # Text: an id, not a quantity to format as "12,345".
            "caller_id": None if record.caller_id is None else str(record.caller_id),
        }
        return {key: value for key, value in attributes.items() if value is not None}


class CallerIdLowBalanceSensor(AccountEntity, BinarySensorEntity):
    """On while the credit is below the option Warn below (disabled by default).

    Disabled: an entry's enabled entities are capped, and the numbers need them.
    """

    _attr_translation_key = "low_balance"
    _attr_device_class = BinarySensorDeviceClass.PROBLEM
    _attr_entity_registry_enabled_default = False

    @property
    def is_on(self) -> bool:
        """Return whether the credit is low."""
        return self._coordinator.balance_low
