"""The automation trigger "Caller ID validation completed", for a number and outcome."""

from collections.abc import Callable
from typing import Any, cast, override

import probatio

from homeassistant.const import ATTR_DEVICE_ID, CONF_OPTIONS
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.trigger import (
    Trigger,
    TriggerActionRunner,
    TriggerConfig,
    TriggerNotTriggeredReporter,
)
from homeassistant.helpers.typing import ConfigType

from .const import (
    DOMAIN,
    EVENT_CALL_ENDED,
    EVENT_VALIDATION_COMPLETED,
    ValidationStatus,
)


def _options_schema(outcomes: tuple[str, ...]) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_OPTIONS, default=dict): {
                # The numbers' devices; none chosen: every number.
                probatio.Optional(ATTR_DEVICE_ID, default=list): probatio.All(
                    cv.ensure_list, [cv.string]
                ),
                # None chosen: every outcome.
                probatio.Optional("outcome", default=list): probatio.All(
                    cv.ensure_list, [probatio.In(outcomes)]
                ),
            }
        }
    )


def device_identifier(entry_id: str, number: str) -> tuple[str, str]:
    """Return the device registry identifier of a number of an entry."""
    return (DOMAIN, f"{entry_id}_{number}")


def number_device_id(hass: HomeAssistant, entry_id: str, number: str) -> str | None:
    """Return the id of the number's device, if it has one."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        device_identifier(entry_id, number), entry_id
    )
    return device.id if device is not None else None


class _CallerIdTrigger(Trigger):
    """Fires on an event of the integration, for chosen numbers and outcomes."""

    _event_type: str
    _outcomes_allowed: tuple[str, ...]
    # The number whose device counts, and the outcome, of an event.
    _number_and_outcome: Callable[[dict[str, Any]], tuple[str, str]]

    @override
    @classmethod
    async def async_validate_config(
        cls, hass: HomeAssistant, config: ConfigType
    ) -> ConfigType:
        """Validate the options."""
        return cast("ConfigType", _options_schema(cls._outcomes_allowed)(config))

    def __init__(self, hass: HomeAssistant, config: TriggerConfig) -> None:
        """Keep the chosen devices and outcomes."""
        super().__init__(hass, config)
        options = config.options or {}
        self._device_ids = frozenset(options.get(ATTR_DEVICE_ID, ()))
        self._outcomes = frozenset(options.get("outcome", ()))

    @override
    async def async_attach_runner(
        self,
        run_action: TriggerActionRunner,
        did_not_trigger: TriggerNotTriggeredReporter | None = None,
    ) -> CALLBACK_TYPE:
        """Run the action for each matching event."""

        @callback
        def _fired(event: Event[dict[str, Any]]) -> None:
            data = event.data
            number, outcome = self._number_and_outcome(data)
            device_id = number_device_id(self._hass, data["config_entry_id"], number)
            if (self._outcomes and outcome not in self._outcomes) or (
                self._device_ids and device_id not in self._device_ids
            ):
                return
            # One vocabulary for both: the caller ID's number, its device, the outcome.
            run_action(
                {
                    **data,
                    "number": number,
                    "outcome": outcome,
                    ATTR_DEVICE_ID: device_id,
                },
                f"{self._event_type} {outcome}",
                event.context,
            )

        return self._hass.bus.async_listen(self._event_type, _fired)


class ValidationCompletedTrigger(_CallerIdTrigger):
    """Fires when a validation of a chosen number ends with a chosen outcome."""

    _event_type = EVENT_VALIDATION_COMPLETED
    _outcomes_allowed = tuple(s for s in ValidationStatus if s != "pending")

    @staticmethod
    def _number_and_outcome(data: dict[str, Any]) -> tuple[str, str]:
        return data["number"], data["status"]


class CallEndedTrigger(_CallerIdTrigger):
    """Fires when a call from a chosen number ends, answered or not."""

    _event_type = EVENT_CALL_ENDED
    _outcomes_allowed = ("answered", "not_answered")

    @staticmethod
    def _number_and_outcome(data: dict[str, Any]) -> tuple[str, str]:
        return data["from"], "answered" if data["answered"] else "not_answered"


async def async_get_triggers(hass: HomeAssistant) -> dict[str, type[Trigger]]:
    """Return the integration's triggers."""
    return {
        "validation_completed": ValidationCompletedTrigger,
        "call_ended": CallEndedTrigger,
    }
