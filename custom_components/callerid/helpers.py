"""Client errors turned into the translated errors a person reads; ids and signals."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
import hashlib
from typing import TYPE_CHECKING, Any

from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    entity_platform,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api import (
    DEFAULT_BASE_URL,
    SevenApiError,
    SevenAuthenticationError,
    SevenClient,
    SevenConnectionError,
    SevenError,
    SevenInvalidNumberError,
    SevenMissingScopeError,
    SevenServerError,
    SevenTimeoutError,
)
from .const import (
    CONF_BASE_URL,
    CONF_CALL_WEBHOOK_ID,
    DOMAIN,
    ISSUE_CALLBACK_UNREACHABLE,
)
from .phone import mask_number

if TYPE_CHECKING:
    from .coordinator import CallerIdConfigEntry

# Gateway codes with a message of their own; the rest share `gateway_error`.
_GATEWAY_ERROR_KEYS = {
    "500": "insufficient_credit",
    "903": "forbidden_ip",
    "unexpected_response": "unexpected_response",
}


@contextmanager
def gateway_errors(
    hass: HomeAssistant, entry: CallerIdConfigEntry, number: str
) -> Iterator[None]:
    """Raise seven.io's failures as translated errors (about `number`); 900 starts reauth."""
    try:
        yield
    except SevenError as err:
        if isinstance(err, SevenAuthenticationError):
            entry.async_start_reauth(hass)
        raise gateway_error(err, number) from err


def invalid(key: str, **placeholders: str) -> ServiceValidationError:
    """Return the translated error for what was asked that cannot be done."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


def gateway_error(err: SevenError, number: str) -> HomeAssistantError:
    """Return the translated error that explains a gateway failure."""
    key, placeholders = _describe(err, number)
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


def may_have_rung(err: SevenError) -> bool:
    """Return whether a failed voice request may have placed a call: unless seven.io refused it."""
    if isinstance(err, SevenConnectionError):
        return True
    return isinstance(err, SevenApiError) and err.code == "unexpected_response"


def _describe(err: SevenError, number: str) -> tuple[str, dict[str, str]]:
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


def seven_client(hass: HomeAssistant, data: Mapping[str, Any]) -> SevenClient:
    """Return a client with the key and gateway of an entry's data."""
    return SevenClient(
        async_get_clientsession(hass),
        data[CONF_API_KEY],
        base_url=data.get(CONF_BASE_URL, DEFAULT_BASE_URL),
    )


def call_webhook_id(entry: CallerIdConfigEntry) -> str:
    """Return the call webhook's id: stored by 1.1's entries, else derived from the callback's."""
    if (stored := entry.data.get(CONF_CALL_WEBHOOK_ID)) is not None:
        return str(stored)
    return hashlib.sha256(f"{entry.data[CONF_WEBHOOK_ID]}:calls".encode()).hexdigest()


@callback
def async_entity_room(hass: HomeAssistant, entry: CallerIdConfigEntry) -> int:
    """Return how many more enabled entities Home Assistant registers for `entry`."""
    return entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY - er.async_get(
        hass
    ).entities.get_enabled_count_for_config_entry_id(entry.entry_id)


def signal(entry_id: str, *about: str) -> str:
    """Return an entry's dispatcher signal: new numbers, a number's record, its calls."""
    return "_".join((DOMAIN, entry_id, *about))


# The repairs whose fix Home Assistant's documentation explains.
_LEARN_MORE_URLS = {
    ISSUE_CALLBACK_UNREACHABLE: "https://www.home-assistant.io/docs/configuration/remote/"
}


@callback
def async_issue(
    hass: HomeAssistant,
    key: str,
    *,
    present: bool,
    entry: CallerIdConfigEntry | None = None,
    **placeholders: str,
) -> None:
    """Raise or drop the repair `key`: the entry's own (named by its title), or the integration's."""
    issue_id = key if entry is None else f"{key}_{entry.entry_id}"
    if not present:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    if entry is not None:
        placeholders["title"] = entry.title
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=key,
        translation_placeholders=placeholders or None,
        learn_more_url=_LEARN_MORE_URLS.get(key),
    )


def last_call_entity_id(hass: HomeAssistant, entry_id: str, number: str) -> str | None:
    """Return the entity id of the number's Last call sensor, if it is registered."""
    return er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry_id}_{number}_last_call"
    )
