"""The callerid.validate action."""

from __future__ import annotations

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
from homeassistant.helpers import config_validation as cv
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
from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_NUMBER,
    CONF_COOLDOWN,
    DEFAULT_COOLDOWN,
    DOMAIN,
    LOGGER,
    SERVICE_VALIDATE,
    ValidationStatus,
)
from .data import CallerIdConfigEntry
from .notification import async_show_code
from .phone import format_number, mask_number, to_e164
from .store import StorageWriteError
from .webhook import async_callback_url

SERVICE_VALIDATE_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_NUMBER): probatio.All(
            cv.string, probatio.Length(max=64)
        ),
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
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


async def _async_validate(call: ServiceCall) -> ServiceResponse:
    """Start a validation: seven.io calls the number and the code is shown."""
    hass = call.hass
    entry = _entry_for_call(hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    number = _to_e164(hass, call.data[ATTR_NUMBER])
    _check_cooldown(entry, number)
    # Held until seven.io answered and the outcome is stored: one call per number at a time.
    ringing = entry.runtime_data.ringing
    ringing.add(number)
    try:
        return await _async_ring(hass, entry, number)
    finally:
        ringing.discard(number)


async def _async_ring(
    hass: HomeAssistant, entry: CallerIdConfigEntry, number: str
) -> ServiceResponse:
    """Ask seven.io to call `number`; store and show what it answers."""
    store = entry.runtime_data.store
    token = secrets.token_urlsafe(32)
    callback = await async_callback_url(hass, entry, token)

    try:
        result = await entry.runtime_data.client.validate_for_voice(
            number, callback=callback.url
        )
    except SevenError as err:
        if isinstance(err, SevenAuthenticationError):
            entry.async_start_reauth(hass)
        key, placeholders = _describe_gateway_error(err, number)
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders=placeholders,
        ) from err

    if isinstance(result, AlreadyValidated):
        record = await store.async_set_validated(
            number, caller_id=result.caller_id, voice=result.voice
        )
        code = None
    else:
        code = result.code
        try:
            record = await store.async_start(number, token)
        except StorageWriteError as err:
            # The phone rings either way: whoever answers needs the code, even though
            # the validation could not be saved (that error is raised on).
            if err.record is not None:
                async_show_code(
                    hass, entry, err.record, code, callback_reachable=callback.reachable
                )
            raise
        async_show_code(
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


def _describe_gateway_error(err: SevenError, number: str) -> tuple[str, dict[str, str]]:
    """Return the translation key and placeholders that explain a gateway failure."""
    match err:
        case SevenAuthenticationError():
            return "auth_failed", {}
        case SevenMissingScopeError():
            return "missing_scope", {}
        case SevenInvalidNumberError():
            return "number_rejected", {"number": format_number(number)}
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
        formatted = format_number(number)
    else:
        record = entry.runtime_data.store.get(number)
        if record is None or record.status is not ValidationStatus.PENDING:
            return
        wait = record.requested_at + cooldown - dt_util.utcnow()
        formatted = record.formatted
    if wait > timedelta(0):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="cooldown",
            translation_placeholders={
                "number": formatted,
                "seconds": str(math.ceil(wait.total_seconds())),
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
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_number",
            translation_placeholders={"number": raw},
        )
    return number
