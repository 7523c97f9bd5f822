"""The actions: parse what was asked, hand it to the entry's owner, answer."""

from typing import Final

import probatio

from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers import (
    config_validation as cv,
    entity_registry as er,
    service,
)

from .const import (
    CONF_CALLER_ID,
    CONF_NUMBER,
    DOMAIN,
    SERVICE_CALL,
    SERVICE_HANG_UP,
    SERVICE_VALIDATE,
)
from .coordinator import CallerIdConfigEntry
from .helpers import invalid
from .models import NumberRecord
from .phone import mask_number, to_e164

ATTR_NUMBER: Final = "number"
ATTR_CALLER_ID: Final = "caller_id"
ATTR_TO: Final = "to"
ATTR_RECIPIENTS: Final = "recipients"
ATTR_MESSAGE: Final = "message"
ATTR_RINGTIME: Final = "ringtime"
ATTR_CALL_ID: Final = "call_id"
MAX_MESSAGE_LENGTH: Final = 10_000
RINGTIME_RANGE: Final = (5, 60)
# More recipients than this in one action is a list gone wrong, not a phone tree.
MAX_RECIPIENTS: Final = 50

# A number as a person types it; the action parses it.
_NUMBER = probatio.All(cv.string, probatio.Length(max=64))
# A caller ID's number or one of its entities.
_CALLER_ID = probatio.All(cv.string, probatio.Length(max=255))

SERVICE_VALIDATE_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_NUMBER): _NUMBER,
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
    }
)

# Types only: each limit is checked in the action, with a message that names it.
SERVICE_CALL_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CALLER_ID): _CALLER_ID,
        probatio.Optional(ATTR_TO, default=list): probatio.All(
            cv.ensure_list, [_NUMBER]
        ),
        probatio.Optional(ATTR_RECIPIENTS, default=list): cv.entity_ids,
        probatio.Required(ATTR_MESSAGE): cv.string,
        probatio.Optional(ATTR_RINGTIME): probatio.Coerce(int),
    }
)


SERVICE_HANG_UP_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CALLER_ID): _CALLER_ID,
        probatio.Optional(ATTR_CALL_ID, default=list): probatio.All(
            cv.ensure_list, [cv.string]
        ),
    }
)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    for name, handler, schema in (
        (SERVICE_VALIDATE, _async_validate, SERVICE_VALIDATE_SCHEMA),
        (SERVICE_CALL, _async_call, SERVICE_CALL_SCHEMA),
        (SERVICE_HANG_UP, _async_hang_up, SERVICE_HANG_UP_SCHEMA),
    ):
        hass.services.async_register(
            DOMAIN,
            name,
            handler,
            schema=schema,
            supports_response=SupportsResponse.OPTIONAL,
        )


async def _async_validate(call: ServiceCall) -> ServiceResponse:
    """Start a validation: seven.io calls the number and the code is shown."""
    entry: CallerIdConfigEntry = service.async_get_config_entry(
        call.hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID)
    )
    number = _to_e164(call.hass, call.data[ATTR_NUMBER])
    return await entry.runtime_data.validations.async_validate(number)


def _to_e164(hass: HomeAssistant, raw: str) -> str:
    """Parse a number as a person types it; national formats use Home Assistant's country."""
    if (number := to_e164(raw, hass.config.country)) is None:
        # Home Assistant logs a failed action's message: what was typed stays out.
        raise invalid("invalid_number", country=hass.config.country or "-")
    return number


async def _async_call(call: ServiceCall) -> ServiceResponse:
    """Place a text-to-speech call from a validated caller ID to each recipient."""
    entry, sender = _caller_id_for_call(call.hass, call.data[ATTR_CALLER_ID])
    recipients = [_to_e164(call.hass, raw) for raw in call.data[ATTR_TO]]
    recipients += [
        _recipient(call.hass, entity_id) for entity_id in call.data[ATTR_RECIPIENTS]
    ]
    ringtime: int | None = call.data.get(ATTR_RINGTIME)
    low, high = RINGTIME_RANGE
    if ringtime is not None and not low <= ringtime <= high:
        raise invalid("ringtime_range", min=str(low), max=str(high))
    return await async_call(
        entry, sender, recipients, call.data[ATTR_MESSAGE], ringtime
    )


async def async_call(
    entry: CallerIdConfigEntry,
    sender: str,
    recipients: list[str],
    message: str,
    ringtime: int | None = None,
) -> ServiceResponse:
    """Call each recipient from `sender`, refused before anything rings if seven.io would."""
    if not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise invalid("recipients_count", max=str(MAX_RECIPIENTS))
    if not message.strip() or len(message) > MAX_MESSAGE_LENGTH:
        raise invalid("message_length", max=str(MAX_MESSAGE_LENGTH))
    return await entry.runtime_data.calls.async_call(
        sender, recipients, message, ringtime
    )


async def async_call_recipient(
    entry: CallerIdConfigEntry, recipient: ConfigSubentry, message: str
) -> None:
    """Call a recipient from the caller ID it is called from."""
    await async_call_from(
        entry, recipient.data[CONF_CALLER_ID], recipient.data[CONF_NUMBER], message
    )


async def async_call_from(
    entry: CallerIdConfigEntry, sender: str, to: str, message: str
) -> None:
    """Call `to` from `sender`, a caller ID of the entry (a recipient, a test call)."""
    _validated(entry.runtime_data.numbers.get(sender), sender)
    await async_call(entry, sender, [to], message)


def _recipient(hass: HomeAssistant, entity_id: str) -> str:
    """Return the number of a recipient of a loaded entry, by its notify entity."""
    entity = er.async_get(hass).async_get(entity_id)
    if (
        entity is not None
        and entity.platform == DOMAIN
        and (entry := hass.config_entries.async_get_entry(entity.config_entry_id or ""))
        and entry.state is ConfigEntryState.LOADED
        and (subentry := entry.subentries.get(entity.config_subentry_id or ""))
    ):
        return str(subentry.data[CONF_NUMBER])
    raise invalid("recipient_unknown", entity_id=entity_id)


async def _async_hang_up(call: ServiceCall) -> ServiceResponse:
    """End the calls from a caller ID still ringing (or talking), all or those named."""
    entry, sender = _caller_id_for_call(call.hass, call.data[ATTR_CALLER_ID])
    return await entry.runtime_data.calls.async_hang_up(sender, call.data[ATTR_CALL_ID])


def _caller_id_for_call(
    hass: HomeAssistant, caller_id: str
) -> tuple[CallerIdConfigEntry, str]:
    """Return the loaded entry and number of a validated caller ID: its sensor or number."""
    entry_id: str | None = None
    if (entity := er.async_get(hass).async_get(caller_id)) is None:
        number = _to_e164(hass, caller_id)
    elif entity.platform == DOMAIN and entity.config_entry_id is not None:
        entry_id = entity.config_entry_id
        number = entity.unique_id.removeprefix(f"{entry_id}_").split("_", 1)[0]
    else:
        raise invalid("caller_id_unknown", entity_id=caller_id)
    records: list[tuple[CallerIdConfigEntry, NumberRecord]] = [
        (entry, record)
        for entry in hass.config_entries.async_loaded_entries(DOMAIN)
        if (entry_id is None or entry.entry_id == entry_id)
        and (record := entry.runtime_data.numbers.get(number)) is not None
    ]
    # A number validated on several accounts: any of them may call from it.
    records.sort(key=lambda found: not found[1].validated)
    _validated(records[0][1] if records else None, number)
    return records[0][0], number


def _validated(record: NumberRecord | None, number: str) -> None:
    """Raise unless `record` is of a number that may be the caller ID of a call."""
    masked = mask_number(number)
    if record is None or not record.validated:
        status = record.status.value if record is not None else "unknown"
        raise invalid("caller_id_not_validated", number=masked, status=status)
    if record.voice is False:
        raise invalid("caller_id_not_for_voice", number=masked)
