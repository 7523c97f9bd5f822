"""The callback that seven.io calls when a validation completes. Reachable from the internet."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
import re
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import web
import probatio

from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_WEBHOOK_ID, EVENT_CORE_CONFIG_UPDATE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .const import (
    CALLBACK_TOKEN_PARAM,
    CONF_CLOUDHOOK_URL,
    DOMAIN,
    ISSUE_CALLBACK_UNREACHABLE,
    LOGGER,
    MAX_CALLBACK_QUERY_LENGTH,
    REFUSAL_WARNING_INTERVAL,
)
from .data import CallerIdConfigEntry
from .store import CallbackResult, StorageWriteError

_FLAG = probatio.In(("0", "1"))
# What the sender may hold besides digits (see CALLBACK_SCHEMA), dropped.
_SEPARATORS: Final = str.maketrans("", "", "+ ()./-")
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
_ROUTED_METHODS: Final = ("GET", "POST", "PUT")
# The webhook ids the integration has registered, one per config entry.
_OWNED_WEBHOOKS: HassKey[set[str]] = HassKey(f"{DOMAIN}_webhooks")


def _bounded(pattern: str) -> probatio.Match:
    return probatio.Match(re.compile(pattern, re.ASCII | re.DOTALL))


CALLBACK_SCHEMA = probatio.Schema(
    {
        probatio.Required(CALLBACK_TOKEN_PARAM): _bounded(r"\A[A-Za-z0-9_-]{16,128}\Z"),
        probatio.Required("sender"): _bounded(r"\A\+?[0-9 ()./-]{4,32}\Z"),
        probatio.Required("success"): _FLAG,
        probatio.Optional("voice"): _FLAG,
        probatio.Optional("id"): _bounded(r"\A[0-9]{0,18}\Z"),
        probatio.Optional("formatted_output"): _bounded(r"\A[^\x00-\x1f\x7f]{0,64}\Z"),
        probatio.Optional("error"): _bounded(r"\A[^\x00-\x1f\x7f]{0,256}\Z"),
    },
    # Parameters seven.io may add later are ignored, not refused.
    extra=probatio.REMOVE_EXTRA,
)


@dataclass(frozen=True, slots=True)
class CallbackUrl:
    """Where seven.io should report, and whether it can get there from the internet."""

    url: str
    reachable: bool


type EntryRequestHandler = Callable[
    [HomeAssistant, CallerIdConfigEntry, web.Request], Awaitable[HTTPStatus]
]


@callback
def async_own_webhook(
    hass: HomeAssistant,
    entry: CallerIdConfigEntry,
    webhook_id: str,
    *,
    name: str,
    handler: EntryRequestHandler,
    methods: tuple[str, ...],
) -> None:
    """Own one of the entry's webhooks from now until the entry is removed.

    Home Assistant answers 200 to a webhook nobody handles, which seven.io would take
    as delivered: so the webhook is held while the entry is not loaded too (start-up,
    reload, failed setup), and answers 503 until `handler` can apply what comes.
    """
    owned = hass.data.setdefault(_OWNED_WEBHOOKS, set())
    if webhook_id in owned:
        return
    entry_id = entry.entry_id

    async def handle(
        hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        if request.method not in methods:
            # Taken in and refused here: Home Assistant would log a warning naming the
            # webhook for each one.
            return web.Response(status=HTTPStatus.METHOD_NOT_ALLOWED)
        entry: CallerIdConfigEntry | None = hass.config_entries.async_get_entry(
            entry_id
        )
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)
        try:
            status = await handler(hass, entry, request)
        except Exception:  # noqa: BLE001 - any failure must not read as delivered
            # Home Assistant would answer 200 (and log the webhook id): seven.io
            # must not take what was not applied as delivered.
            LOGGER.exception("Could not handle a request from seven.io")
            return web.Response(status=HTTPStatus.INTERNAL_SERVER_ERROR)
        if status.is_client_error:
            note_refusal(entry)
        return web.Response(status=status)

    webhook.async_register(
        hass,
        DOMAIN,
        name,
        webhook_id,
        handle,
        local_only=False,
        # Every method Home Assistant's webhook view routes (HEAD it answers itself);
        # others never reach it and get aiohttp's quiet 405.
        allowed_methods=_ROUTED_METHODS,
    )
    owned.add(webhook_id)


@callback
def async_register_callback(hass: HomeAssistant, entry: CallerIdConfigEntry) -> None:
    """Own the entry's validation callback webhook (seven.io calls it with GET)."""
    async_own_webhook(
        hass,
        entry,
        entry.data[CONF_WEBHOOK_ID],
        name=entry.title,
        handler=_async_handle_callback,
        # seven.io calls back with GET; POST is read the same way.
        methods=("GET", "POST"),
    )


@callback
def async_unregister_webhook(hass: HomeAssistant, webhook_id: str) -> None:
    """Let go of a webhook of a removed entry."""
    webhook.async_unregister(hass, webhook_id)
    hass.data.setdefault(_OWNED_WEBHOOKS, set()).discard(webhook_id)


async def async_callback_url(
    hass: HomeAssistant, entry: CallerIdConfigEntry, token: str
) -> CallbackUrl:
    """Return the URL seven.io should call for one validation, carrying its token.

    Home Assistant Cloud first, then the external URL; the internal URL only as a last
    resort, flagged unreachable and explained by a repair issue.
    """
    webhook_id = entry.data[CONF_WEBHOOK_ID]
    reachable = True
    if (base := await async_cloudhook_url(hass, entry)) is None:
        try:
            base = webhook.async_generate_url(hass, webhook_id, allow_internal=False)
        except NoURLAvailableError:
            reachable = False
            try:
                base = webhook.async_generate_url(hass, webhook_id)
            except NoURLAvailableError as err:
                raise HomeAssistantError(
                    translation_domain=DOMAIN, translation_key="no_callback_url"
                ) from err
    _async_update_reachability_issue(hass, reachable=reachable)
    # Tokens are URL-safe already (secrets.token_urlsafe): nothing to quote.
    separator = "&" if "?" in base else "?"
    return CallbackUrl(f"{base}{separator}{CALLBACK_TOKEN_PARAM}={token}", reachable)


@callback
def async_setup_reachability(hass: HomeAssistant) -> None:
    """Keep the unreachable-callback issue in step with the URL configuration."""

    @callback
    def _core_config_updated(_: Event[Any]) -> None:
        if hass.config_entries.async_loaded_entries(DOMAIN):
            async_check_reachability(hass)

    hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, _core_config_updated)


@callback
def async_check_reachability(hass: HomeAssistant) -> None:
    """Raise the unreachable-callback issue now if seven.io could not call back.

    Called at setup and whenever the URL configuration changes, so that it shows
    before anyone rings a phone.
    """
    _async_update_reachability_issue(hass, reachable=_has_public_url(hass))


@callback
def async_clear_reachability(hass: HomeAssistant) -> None:
    """Drop the unreachable-callback issue: no entry is left to need a callback."""
    _async_update_reachability_issue(hass, reachable=True)


@callback
def _has_public_url(hass: HomeAssistant) -> bool:
    """Return whether a URL reachable from the internet exists (cloudhook or external)."""
    if "cloud" in hass.config.components:
        from homeassistant.components import cloud  # noqa: PLC0415

        if cloud.async_active_subscription(hass):
            return True
    try:
        # What webhook.async_generate_url asks for when it must not be internal.
        get_url(hass, allow_internal=False, allow_cloud=False, prefer_external=True)
    except NoURLAvailableError:
        return False
    return True


@callback
def _async_update_reachability_issue(hass: HomeAssistant, *, reachable: bool) -> None:
    if reachable:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_CALLBACK_UNREACHABLE)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_CALLBACK_UNREACHABLE,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_CALLBACK_UNREACHABLE,
        learn_more_url="https://www.home-assistant.io/docs/configuration/remote/",
    )


async def async_cloudhook_url(
    hass: HomeAssistant,
    entry: CallerIdConfigEntry,
    *,
    webhook_key: str = CONF_WEBHOOK_ID,
    cloudhook_key: str = CONF_CLOUDHOOK_URL,
) -> str | None:
    """Return a cloudhook of one of the entry's webhooks, when Home Assistant Cloud is usable.

    The webhook id is the entry's `webhook_key`; the cloudhook is remembered under
    `cloudhook_key`, so that it can be deleted with the entry.
    """
    if "cloud" not in hass.config.components:
        return None
    # Imported here: the cloud integration is large and only there when loaded.
    from homeassistant.components import cloud  # noqa: PLC0415

    if not cloud.async_active_subscription(hass):
        return None
    try:
        url = await cloud.async_get_or_create_cloudhook(hass, entry.data[webhook_key])
    except cloud.CloudNotAvailable, cloud.CloudNotConnected:
        return None
    if entry.data.get(cloudhook_key) != url:
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, cloudhook_key: url}
        )
    return url


async def _async_handle_callback(
    hass: HomeAssistant, entry: CallerIdConfigEntry, request: web.Request
) -> HTTPStatus:
    """Apply seven.io's verdict if the request proves it belongs to a pending validation."""
    params = await _async_read_params(request)
    if params is None:
        return HTTPStatus.BAD_REQUEST
    # Reading a body waits on the network: the entry may have begun to unload.
    if entry.state is not ConfigEntryState.LOADED:
        return HTTPStatus.SERVICE_UNAVAILABLE
    try:
        data = CALLBACK_SCHEMA(params)
    except probatio.Invalid:
        return HTTPStatus.BAD_REQUEST
    store = entry.runtime_data.store
    # seven.io sends the number in international digits, maybe with separators. Only
    # a number the action stored (in E.164, checked by phonenumbers) can match, so the
    # digits are all it takes; an invalid number is as unknown as any other.
    number = f"+{data['sender'].translate(_SEPARATORS)}"

    result = CallbackResult(
        success=data["success"] == "1",
        voice=data["voice"] == "1" if "voice" in data else None,
        caller_id=int(data["id"]) if data.get("id") else None,
        error=data.get("error") or None,
    )
    try:
        record = await store.async_complete(number, data[CALLBACK_TOKEN_PARAM], result)
    except StorageWriteError:
        # Applied but not saved (logged); seven.io is not told all is well.
        return HTTPStatus.INTERNAL_SERVER_ERROR
    if record is None:
        # The same answer whether the number is unknown or the token wrong: no oracle.
        return HTTPStatus.FORBIDDEN
    return HTTPStatus.OK


async def _async_read_params(request: web.Request) -> dict[str, Any] | None:
    """Return the query (and form, for POST) as a flat dict; None when too big or ambiguous.

    Also reads Home Assistant Cloud's stand-in request (MockRequest), which has only
    `method`, `headers`, `query`, `query_string` and `content`.
    """
    if len(request.query_string) > MAX_CALLBACK_QUERY_LENGTH:
        return None
    try:
        pairs = list(request.query.items())
        if request.method == "POST":
            if (body := await _async_read_body(request)) is None:
                return None
            content_type = request.headers.get("Content-Type", "")
            if content_type.partition(";")[0].strip().lower() == FORM_CONTENT_TYPE:
                pairs += parse_qsl(
                    body.decode("utf-8"), keep_blank_values=True, errors="strict"
                )
    except ValueError:  # UnicodeDecodeError included
        return None
    params = dict(pairs)
    # A parameter given twice could mean two things; refuse rather than guess.
    if len(params) != len(pairs):
        return None
    return params


async def _async_read_body(request: web.Request) -> bytes | None:
    """Return the whole body, however it is chunked; None when it is too long."""
    body = b""
    # Taken once: MockRequest makes a new reader, from the start, each time.
    content = request.content
    # read(n) returns what has arrived, up to n bytes, and b"" at the end.
    while chunk := await content.read(MAX_CALLBACK_QUERY_LENGTH + 1):
        body += chunk
        if len(body) > MAX_CALLBACK_QUERY_LENGTH:
            return None
    return body


@callback
def note_refusal(entry: CallerIdConfigEntry) -> None:
    """Count a refused callback: debug each, warn at most once an interval with the count."""
    refusals = entry.runtime_data.refusals
    refusals.count += 1
    LOGGER.debug("Refused a callback that matches no pending validation")
    now = dt_util.utcnow()
    if (
        refusals.last_warning is None
        or now - refusals.last_warning >= REFUSAL_WARNING_INTERVAL
    ):
        LOGGER.warning(
            "Refused %d request(s) to the webhooks that matched no pending "
            "validation or call "
            "(logged at debug level; this warning repeats at most hourly)",
            refusals.count,
        )
        refusals.count = 0
        refusals.last_warning = now
