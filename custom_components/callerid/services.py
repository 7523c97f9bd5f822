"""The callerid.validate action."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
import math
import secrets
from typing import Any

import probatio

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    config_validation as cv,
    entity_platform,
    entity_registry as er,
)
from homeassistant.util import dt as dt_util

from .api import (
    AlreadyValidated,
    SevenApiError,
    SevenAuthenticationError,
    SevenError,
    SevenInvalidNumberError,
    SevenMissingScopeError,
    SevenServerError,
    SevenTimeoutError,
)
from .calls import PlacedCall
from .const import (
    ATTR_CALLER_ID,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_MESSAGE,
    ATTR_NUMBER,
    ATTR_RINGTIME,
    ATTR_TO,
    CONF_COOLDOWN,
    CONF_MAX_CALLS,
    DEFAULT_COOLDOWN,
    DEFAULT_MAX_CALLS,
    DOMAIN,
    ENABLED_ENTITIES,
    EVENT_CALL_PLACED,
    LOGGER,
    MAX_MESSAGE_LENGTH,
    MAX_RECIPIENTS,
    RINGTIME_RANGE,
    SERVICE_CALL,
    SERVICE_VALIDATE,
    ValidationStatus,
)
from .data import CallerIdConfigEntry
from .entity import async_entity_room
from .notification import async_show_code
from .phone import mask_number, to_e164
from .store import KnownValidated, StorageWriteError
from .webhook import async_callback_url

SERVICE_VALIDATE_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_NUMBER): probatio.All(
            cv.string, probatio.Length(max=64)
        ),
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
    }
)

# Types only: each limit is checked in the action, with a message that names it.
SERVICE_CALL_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CALLER_ID): probatio.All(
            cv.string, probatio.Length(max=255)
        ),
        probatio.Required(ATTR_TO): probatio.All(
            cv.ensure_list, [probatio.All(cv.string, probatio.Length(max=64))]
        ),
        probatio.Required(ATTR_MESSAGE): cv.string,
        probatio.Optional(ATTR_RINGTIME): probatio.Coerce(int),
    }
)

# Gateway codes with a message of their own; the rest share `gateway_error`.
_GATEWAY_ERROR_KEYS = {
    "500": "insufficient_credit",
    "903": "forbidden_ip",
    "unexpected_response": "unexpected_response",
}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_VALIDATE,
        _async_validate,
        schema=SERVICE_VALIDATE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_CALL,
        _async_call,
        schema=SERVICE_CALL_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


async def _async_validate(call: ServiceCall) -> ServiceResponse:
    """Start a validation: seven.io calls the number and the code is shown."""
    hass = call.hass
    entry = _entry_for_call(hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    number = _to_e164(hass, call.data[ATTR_NUMBER])
    _check_cooldown(entry, number)
    _check_room(hass, entry, number)
    # Held until seven.io answered and the outcome is stored: one call per number at a time.
    ringing = entry.runtime_data.ringing
    ringing.add(number)

    async def ring_once() -> ServiceResponse:
        try:
            return await _async_ring(hass, entry, number)
        finally:
            ringing.discard(number)

    # Once asked, seven.io may ring the phone: an action cancelled meanwhile (a stopped
    # automation) does not lose the validation, nor its code.
    return await asyncio.shield(
        hass.async_create_task(ring_once(), f"{DOMAIN} validate", eager_start=True)
    )


async def _async_ring(
    hass: HomeAssistant, entry: CallerIdConfigEntry, number: str
) -> ServiceResponse:
    """Ask seven.io to call `number`; store and show what it answers."""
    token = secrets.token_urlsafe(32)
    callback = await async_callback_url(hass, entry, token)
    # Creating a cloudhook waits on the network: the entry may have begun to unload.
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    store = entry.runtime_data.store
    code: str | None = None

    async def ring() -> KnownValidated | None:
        nonlocal code
        try:
            result = await entry.runtime_data.client.validate_for_voice(
                number, callback=callback.url
            )
        except SevenError as err:
            if isinstance(err, SevenAuthenticationError):
                entry.async_start_reauth(hass)
            raise _gateway_error(err, number) from err
        if isinstance(result, AlreadyValidated):
            return KnownValidated(caller_id=result.caller_id, voice=result.voice)
        code = result.code
        return None

    try:
        record = await store.async_start(number, token, ring)
    except StorageWriteError as err:
        # The phone rings either way: whoever answers needs the code, even though
        # the validation could not be saved (that error is raised on).
        if err.record is not None and code is not None:
            await async_show_code(
                hass, entry, err.record, code, callback_reachable=callback.reachable
            )
        raise
    if code is not None:
        await async_show_code(
            hass, entry, record, code, callback_reachable=callback.reachable
        )
        LOGGER.debug("Validation of %s started", mask_number(number))
    response: dict[str, Any] = {
        "number": number,
        "status": record.status.value,
        "code": code,
        "caller_id": record.caller_id,
        "voice": record.voice,
        # False: seven.io cannot reach Home Assistant; the sensor will not update by itself.
        "callback_reachable": callback.reachable,
    }
    return response


def _gateway_error(err: SevenError, number: str) -> HomeAssistantError:
    """Return the translated error that explains a gateway failure."""
    key, placeholders = _describe_gateway_error(err, number)
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


def _describe_gateway_error(err: SevenError, number: str) -> tuple[str, dict[str, str]]:
    """Return the translation key and placeholders that explain a gateway failure."""
    match err:
        case SevenAuthenticationError():
            return "auth_failed", {}
        case SevenMissingScopeError():
            return "missing_scope", {}
        case SevenInvalidNumberError():
            return "number_rejected", {"number": mask_number(number)}
        case SevenTimeoutError():
            return "timeout", {}
        case SevenServerError(status=status):
            return "gateway_unavailable", {"status": str(status)}
        case SevenApiError(code=code):
            return _GATEWAY_ERROR_KEYS.get(code, "gateway_error"), {"code": code}
        case _:
            return "cannot_connect", {}


def _check_cooldown(entry: CallerIdConfigEntry, number: str) -> None:
    """Refuse to ring a number again while its last call is young; each call rings a phone."""
    cooldown = timedelta(seconds=entry.options.get(CONF_COOLDOWN, DEFAULT_COOLDOWN))
    if number in entry.runtime_data.ringing:
        # A request for it is under way: its cooldown starts once seven.io answers.
        wait = max(cooldown, timedelta(seconds=1))
    else:
        record = entry.runtime_data.store.get(number)
        if record is None or record.status is not ValidationStatus.PENDING:
            return
        wait = record.requested_at + cooldown - dt_util.utcnow()
    if wait > timedelta(0):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="cooldown",
            translation_placeholders={
                # Home Assistant logs the message of a failed action: masked.
                "number": mask_number(number),
                "seconds": str(math.ceil(wait.total_seconds())),
            },
        )


def _check_room(hass: HomeAssistant, entry: CallerIdConfigEntry, number: str) -> None:
    """Refuse a new number whose entities Home Assistant would not add.

    Home Assistant adds no more enabled entities to an entry past its limit, and only
    logs that: the number would ring, validate, and never show.
    """
    if entry.runtime_data.store.get(number) is not None:
        return
    # New numbers being asked for right now get their entities soon.
    coming = 1 + len(entry.runtime_data.ringing)
    if coming * len(ENABLED_ENTITIES) > async_entity_room(hass, entry):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="too_many_numbers",
            translation_placeholders={
                "limit": f"{entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY:,}"
            },
        )


def _entry_for_call(hass: HomeAssistant, entry_id: str | None) -> CallerIdConfigEntry:
    """Return the loaded entry the call means, or say why there is none."""
    if entry_id is not None:
        entry: CallerIdConfigEntry | None = hass.config_entries.async_get_entry(
            entry_id
        )
        if entry is None or entry.domain != DOMAIN:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="entry_not_found",
                translation_placeholders={"config_entry_id": entry_id},
            )
        if entry.state is not ConfigEntryState.LOADED:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="entry_not_loaded",
                translation_placeholders={"title": entry.title},
            )
        return entry
    loaded: list[CallerIdConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    if not loaded:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_loaded_entry"
        )
    if len(loaded) > 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="entry_required"
        )
    return loaded[0]


def _to_e164(hass: HomeAssistant, raw: str) -> str:
    """Parse a number as a person types it; national formats use Home Assistant's country."""
    if (number := to_e164(raw, hass.config.country)) is None:
        # Home Assistant logs the message of a failed action: what was typed is
        # masked there like any number.
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_number",
            translation_placeholders={"number": mask_number(raw)},
        )
    return number


async def _async_call(call: ServiceCall) -> ServiceResponse:
    """Place a text-to-speech call from a validated caller ID to each recipient."""
    hass = call.hass
    entry, sender = _caller_id_for_call(hass, call.data[ATTR_CALLER_ID])
    recipients = [_to_e164(hass, raw) for raw in call.data[ATTR_TO]]
    message: str = call.data[ATTR_MESSAGE]
    ringtime: int | None = call.data.get(ATTR_RINGTIME)
    _check_call(recipients, message, ringtime)
    data = entry.runtime_data
    limit = int(entry.options.get(CONF_MAX_CALLS, DEFAULT_MAX_CALLS))
    placed = data.calls.placed_since(dt_util.utcnow() - timedelta(hours=1))
    if placed + data.calls_in_flight + len(recipients) > limit:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="call_limit",
            translation_placeholders={"limit": str(limit)},
        )

    # Each recipient holds a slot until its call is in the store (or failed), so that
    # concurrent actions cannot exceed the limit between them.
    data.calls_in_flight += len(recipients)
    attempted = 0
    rows: list[dict[str, Any]] = []
    failures: list[SevenError] = []
    balance: float | None = None
    try:
        for recipient in recipients:
            attempted += 1
            row, result = await _async_place(
                hass, entry, sender, recipient, message=message, ringtime=ringtime
            )
            rows.append(row)
            if isinstance(result, SevenError):
                failures.append(result)
                if isinstance(result, SevenAuthenticationError):
                    entry.async_start_reauth(hass)
                    break  # the key is refused: every other call would be too
            elif result is not None:
                balance = result
    finally:
        # Those not attempted (a refused key stops the rest); the others let go of
        # theirs in _async_place.
        data.calls_in_flight -= len(recipients) - attempted

    if not any(row["success"] for row in rows):
        if failures:
            raise _gateway_error(failures[0], sender) from failures[0]
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="call_refused",
            translation_placeholders={"error": rows[0]["error"] or "-"},
        )
    response: dict[str, Any] = {
        "calls": rows,
        "total_price": round(sum(row["price"] or 0 for row in rows), 6),
        "balance": balance,
        # False: seven.io will not report how the calls end (see the repair).
        "outcome_reported": data.outcome_reported,
    }
    return response


async def _async_place(
    hass: HomeAssistant,
    entry: CallerIdConfigEntry,
    sender: str,
    recipient: str,
    *,
    message: str,
    ringtime: int | None,
) -> tuple[dict[str, Any], SevenError | float | None]:
    """Place one call; return its response row and the balance, or the error raised."""
    foreign_id = secrets.token_hex(8)
    row: dict[str, Any] = {
        "to": recipient,
        "call_id": None,
        "success": False,
        "error": None,
        "price": None,
    }
    try:
        result = await entry.runtime_data.client.voice(
            to=recipient,
            text=message,
            sender=sender,
            ringtime=ringtime,
            foreign_id=foreign_id,
        )
    except SevenError as err:
        row["error"] = str(err)
        return row, err
    finally:
        # The call, if placed, is in the store from the next line on (async_add keeps
        # it before it awaits anything): it counts there against the hourly limit.
        entry.runtime_data.calls_in_flight -= 1
    (placed,) = result.calls or (None,)
    if placed is None or not placed.success or placed.call_id is None:
        row["error"] = (placed.error if placed is not None else None) or "refused"
        return row, result.balance
    row |= {"call_id": placed.call_id, "success": True, "price": placed.price}
    # The call rings whether or not it is saved (a failed write is logged): its row
    # says it was placed, as it was.
    with contextlib.suppress(StorageWriteError):
        await entry.runtime_data.calls.async_add(
            PlacedCall(
                call_id=placed.call_id,
                foreign_id=foreign_id,
                sender=sender,
                recipient=recipient,
                placed_at=dt_util.utcnow(),
            )
        )
    hass.bus.async_fire(
        EVENT_CALL_PLACED,
        {
            "config_entry_id": entry.entry_id,
            "call_id": placed.call_id,
            "from": sender,
            "to": recipient,
        },
    )
    LOGGER.debug(
        "Call from %s to %s placed", mask_number(sender), mask_number(recipient)
    )
    return row, result.balance


def _check_call(recipients: list[str], message: str, ringtime: int | None) -> None:
    """Refuse what seven.io would refuse, before anything rings."""
    if not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="recipients_count",
            translation_placeholders={"max": str(MAX_RECIPIENTS)},
        )
    if not len(message.strip()) >= 1 or len(message) > MAX_MESSAGE_LENGTH:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="message_length",
            translation_placeholders={"max": str(MAX_MESSAGE_LENGTH)},
        )
    low, high = RINGTIME_RANGE
    if ringtime is not None and not low <= ringtime <= high:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ringtime_range",
            translation_placeholders={"min": str(low), "max": str(high)},
        )


def _caller_id_for_call(
    hass: HomeAssistant, caller_id: str
) -> tuple[CallerIdConfigEntry, str]:
    """Return the loaded entry and E.164 number of a caller ID this integration validated.

    `caller_id` is the number's Caller ID sensor (the UI's picker) or the number itself.
    """
    number: str | None = None
    entry_id: str | None = None
    if (entity := er.async_get(hass).async_get(caller_id)) is not None:
        if entity.platform == DOMAIN and entity.config_entry_id is not None:
            entry_id = entity.config_entry_id
            number = entity.unique_id.removeprefix(f"{entry_id}_").rsplit("_", 1)[0]
    else:
        number = to_e164(caller_id, hass.config.country)
    if number is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_number",
            translation_placeholders={"number": mask_number(caller_id)},
        )
    entries: list[CallerIdConfigEntry] = [
        entry
        for entry in hass.config_entries.async_loaded_entries(DOMAIN)
        if entry_id is None or entry.entry_id == entry_id
    ]
    records = [
        (entry, record)
        for entry in entries
        if (record := entry.runtime_data.store.get(number)) is not None
    ]
    # A number validated on several accounts: any of them may call from it.
    validated = [(entry, record) for entry, record in records if record.validated]
    if not validated:
        status = records[0][1].status.value if records else "unknown"
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="caller_id_not_validated",
            translation_placeholders={"number": mask_number(number), "status": status},
        )
    entry, record = validated[0]
    if record.voice is False:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="caller_id_not_for_voice",
            translation_placeholders={"number": mask_number(number)},
        )
    return entry, number
