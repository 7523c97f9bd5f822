"""Per number: the validation's status, when it last completed, the last call from it.

Per account: its balance, and what it spent today.
"""

from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_time_change
from homeassistant.util import dt as dt_util

from .api import SevenError, SevenMissingScopeError
from .const import LOGGER, ValidationStatus
from .coordinator import CallerIdConfigEntry
from .entity import AccountEntity, CallerIdEntity, async_add_number_entities
from .helpers import signal
from .models import CallOutcome

PARALLEL_UPDATES = 0
# The balance sensor asks seven.io this often; every call's answer updates it too.
SCAN_INTERVAL = timedelta(hours=1)

STATUS_OPTIONS = [status.value for status in ValidationStatus]
LAST_CALL_OPTIONS = [outcome.value for outcome in CallOutcome]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CallerIdConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of every stored number, and of each new one as it appears."""
    async_add_number_entities(
        entry,
        async_add_entities,
        # Last call with the others, not once the number is validated: adding an
        # entity in the middle of a callback costs it more than all else it does.
        (CallerIdStatusSensor, CallerIdCompletedSensor, CallerIdLastCallSensor),
    )
    async_add_entities(
        [
            CallerIdBalanceSensor(entry.runtime_data),
            CallerIdSpentSensor(entry.runtime_data),
        ]
    )


class CallerIdStatusSensor(CallerIdEntity, SensorEntity):
    """Where the number's validation stands: pending, validated, failed or expired."""

    _attr_translation_key = "status"
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = STATUS_OPTIONS
    # They change with every validation: history keeps the state, not these.
    _unrecorded_attributes = frozenset({"error", "requested_at"})

    @property
    def native_value(self) -> str:
        """Return the status."""
        return self._record.status.value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return when the validation started and, if it failed, seven.io's reason."""
        record = self._record
        attributes: dict[str, Any] = {"requested_at": record.requested_at.isoformat()}
        if record.error is not None:
            attributes["error"] = record.error
        return attributes


class CallerIdCompletedSensor(CallerIdEntity, SensorEntity):
    """When the number's last validation ended (validated, failed or expired)."""

    _attr_translation_key = "completed"
    _attr_device_class = SensorDeviceClass.TIMESTAMP
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_entity_registry_enabled_default = False

    @property
    def native_value(self) -> datetime | None:
        """Return when the last validation ended; unknown while the first is pending."""
        return self._record.completed_at


class CallerIdLastCallSensor(CallerIdEntity, SensorEntity):
    """How the last call placed from the number went."""

    _attr_translation_key = "last_call"
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = LAST_CALL_OPTIONS

    def _signal(self) -> str:
        """Follow the calls placed from the number, not its validations."""
        return signal(self._entry_id, self._number, "call")

    @callback
    def _update(self, *_: object) -> None:
        self.async_write_ha_state()

    @property
    def native_value(self) -> str | None:
        """Return how the last call went; unknown before the first."""
        outcome = self._coordinator.calls.last.get(self._number)
        return outcome.value if outcome is not None else None


class CallerIdBalanceSensor(AccountEntity, SensorEntity):
    """The account's credit, in seven.io's currency; unavailable without the right."""

    _attr_translation_key = "balance"
    _attr_device_class = SensorDeviceClass.MONETARY
    # Polled hourly (SCAN_INTERVAL); the calls' answers update it in between.
    _attr_should_poll = True

    @property
    def native_value(self) -> float | None:
        """Return the credit."""
        balance = self._coordinator.balance
        return balance.amount if balance is not None else None

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Return seven.io's currency."""
        balance = self._coordinator.balance
        return balance.currency if balance is not None else None

    async def async_update(self) -> None:
        """Ask seven.io."""
        await self._coordinator.async_refresh_balance()


class CallerIdSpentSensor(AccountEntity, SensorEntity):
    """What the account spent today, in euros: seven.io's analytics, asked hourly.

    Unavailable until seven.io told it, and while the key lacks the `analytics` right.
    """

    _attr_translation_key = "spent_today"
    _attr_device_class = SensorDeviceClass.MONETARY
    _attr_native_unit_of_measurement = "EUR"  # seven.io's analytics count in euros
    _attr_should_poll = True
    # The day the value is of; None while not known.
    _day: str | None = None

    @property
    def available(self) -> bool:
        """Return whether seven.io told what was spent."""
        return self._day is not None

    async def async_added_to_hass(self) -> None:
        """Ask at once, and again as each day starts, not only hourly."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_track_time_change(
                self.hass, self._new_day, hour=0, minute=0, second=0
            )
        )
        self.async_schedule_update_ha_state(force_refresh=True)

    @callback
    def _new_day(self, _: datetime) -> None:
        self.async_schedule_update_ha_state(force_refresh=True)

    async def async_update(self) -> None:
        """Ask seven.io about today (Home Assistant's day); keep today's on an error."""
        today = dt_util.now().date().isoformat()
        try:
            spent = await self._coordinator.client.spent(today)
        except SevenMissingScopeError:
            self._day = None
        except SevenError as err:
            LOGGER.debug("Could not read what was spent today: %s", err)
            if self._day != today:
                self._day = None  # the last figure is of another day
        else:
            self._attr_native_value, self._day = round(spent, 4), today
