"""Every request seven.io sends: validation callbacks and call status events.

Both face the internet: whatever matches no pending validation or placed call is
refused, the same way whatever is wrong.
"""

from collections.abc import Awaitable, Callable
import contextlib
from datetime import timedelta
from http import HTTPStatus
import re
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import web
import probatio

from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
from homeassistant.util.json import JSON_DECODE_EXCEPTIONS, json_loads

from .api import SevenClient, SevenError
from .const import (
    CALLBACK_TOKEN_PARAM,
    CONF_CALL_CLOUDHOOK_URL,
    CONF_CLOUDHOOK_URL,
    DOMAIN,
    ISSUE_BALANCE_LOW,
    ISSUE_HOOK_SYNC_FAILED,
    ISSUE_HOOKS_RIGHT,
    ISSUE_RECIPIENT_CALLER_ID,
    ISSUE_TOO_MANY_NUMBERS,
    LOGGER,
)
from .coordinator import CallerIdConfigEntry
from .helpers import async_issue, call_webhook_id
from .models import CallbackResult
from .reachability import async_our_hooks
from .storage import StorageWriteError

_FLAG = probatio.In(("0", "1"))
# What the sender may hold besides digits (see CALLBACK_SCHEMA), dropped.
_SEPARATORS: Final = str.maketrans("", "", "+ ()./-")
# The webhook ids the integration has registered, two per config entry.
_OWNED_WEBHOOKS: HassKey[set[str]] = HassKey(f"{DOMAIN}_webhooks")
# Longest callback query string looked at; seven.io's parameters fit easily.
MAX_CALLBACK_QUERY_LENGTH: Final = 2048
# Refused requests are logged at debug level; a warning sums them up at most this often.
REFUSAL_WARNING_INTERVAL: Final = timedelta(hours=1)
# A voice_status event is a few hundred bytes.
MAX_EVENT_SIZE: Final = 8192


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


def _as_text(value: object) -> str:
    # seven.io's SDKs show numbers or strings here; str() would pass null or true too.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise probatio.Invalid("expected text or a number")
    return str(value)


def _text(pattern: str) -> probatio.All[Any]:
    return probatio.All(_as_text, _bounded(pattern))


def _seconds(value: object) -> int:
    """Read a duration: empty or null until the call ends, then a number or its text."""
    if value is None or value == "" or (isinstance(value, float) and 0 <= value < 1e6):
        return int(value or 0)
    return int(float(_text(r"\A[0-9]{1,6}(\.[0-9]{1,3})?\Z")(value)))


EVENT_SCHEMA = probatio.Schema(
    {
        probatio.Required("webhook_event"): "voice_status",
        probatio.Required("data"): probatio.Schema(
            {
                probatio.Required("id"): _text(r"\A[0-9A-Za-z_-]{1,64}\Z"),
                probatio.Required("status"): _text(r"\A[A-Za-z_ -]{1,32}\Z"),
                probatio.Optional("duration", default=None): _seconds,
                probatio.Optional("foreign_id"): _text(r"\A[0-9A-Za-z_-]{1,64}\Z"),
            },
            extra=probatio.REMOVE_EXTRA,
        ),
    },
    # Fields seven.io may add later are ignored, not refused.
    extra=probatio.REMOVE_EXTRA,
)


@callback
def async_register_webhooks(hass: HomeAssistant, entry: CallerIdConfigEntry) -> None:
    """Own the entry's webhooks from now until the entry is removed.

    Home Assistant answers 200 to a webhook nobody handles, which seven.io would take
    as delivered: held while the entry is not loaded too, they answer 503 then.
    """
    owned = hass.data.setdefault(_OWNED_WEBHOOKS, set())
    for webhook_id, name, handler, methods in (
        # seven.io calls back with GET; POST is read the same way.
        (entry.data[CONF_WEBHOOK_ID], entry.title, _async_callback, ("GET", "POST")),
        # seven.io posts the call events as JSON.
        (call_webhook_id(entry), f"{entry.title} calls", _async_status, ("POST",)),
    ):
        if webhook_id not in owned:
            webhook.async_register(
                hass,
                DOMAIN,
                name,
                webhook_id,
                _entry_handler(entry.entry_id, handler, methods),
                local_only=False,
                # Every method the webhook view routes (others get aiohttp's quiet 405).
                allowed_methods=("GET", "POST", "PUT"),
            )
            owned.add(webhook_id)


def _entry_handler(
    entry_id: str,
    handler: Callable[[CallerIdConfigEntry, web.Request], Awaitable[HTTPStatus]],
    methods: tuple[str, ...],
) -> Callable[[HomeAssistant, str, web.Request], Awaitable[web.Response]]:
    """Return the webhook handler: `handler`'s answer while the entry is loaded."""

    async def handle(
        hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        if request.method not in methods:
            # Refused here: Home Assistant would log a warning naming the webhook.
            return web.Response(status=HTTPStatus.METHOD_NOT_ALLOWED)
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)
        try:
            status = await handler(entry, request)
        except StorageWriteError:
            # Not saved, not applied; seven.io is not told all is well.
            status = HTTPStatus.INTERNAL_SERVER_ERROR
        except Exception:  # noqa: BLE001 - any failure must not read as delivered
            # Home Assistant would answer 200 (and log the webhook id).
            LOGGER.exception("Could not handle a request from seven.io")
            return web.Response(status=HTTPStatus.INTERNAL_SERVER_ERROR)
        if status.is_client_error:
            note_refusal(entry)
        return web.Response(status=status)

    return handle


async def _async_callback(
    entry: CallerIdConfigEntry, request: web.Request
) -> HTTPStatus:
    """Apply seven.io's verdict if the request proves it belongs to a pending validation."""
    params = await _async_read_params(request)
    if params is None:
        return HTTPStatus.BAD_REQUEST
    if not _still_loaded(entry):
        return HTTPStatus.SERVICE_UNAVAILABLE
    try:
        data = CALLBACK_SCHEMA(params)
    except probatio.Invalid:
        return HTTPStatus.BAD_REQUEST
    # International digits, maybe with separators: only a number the action stored (E.164,
    # checked by phonenumbers) can match; an invalid one is as unknown as any other.
    number = f"+{data['sender'].translate(_SEPARATORS)}"

    result = CallbackResult(
        success=data["success"] == "1",
        voice=data["voice"] == "1" if "voice" in data else None,
        caller_id=int(data["id"]) if data.get("id") else None,
        error=data.get("error") or None,
    )
    record = await entry.runtime_data.validations.async_complete(
        number, data[CALLBACK_TOKEN_PARAM], result
    )
    # The same answer whether the number is unknown or the token wrong: no oracle.
    return HTTPStatus.FORBIDDEN if record is None else HTTPStatus.OK


async def _async_status(entry: CallerIdConfigEntry, request: web.Request) -> HTTPStatus:
    """Apply a voice_status event if it is about a call this entry placed."""
    if (body := await _async_read_body(request, MAX_EVENT_SIZE)) is None:
        return HTTPStatus.BAD_REQUEST
    if not _still_loaded(entry):
        return HTTPStatus.SERVICE_UNAVAILABLE
    try:
        data = EVENT_SCHEMA(json_loads(body))["data"]
    except (*JSON_DECODE_EXCEPTIONS, probatio.Invalid):
        return HTTPStatus.BAD_REQUEST
    call = await entry.runtime_data.calls.async_status(
        data["id"], data.get("foreign_id"), data["status"], data["duration"]
    )
    # Unknown, another entry's or too old: the same answer for all.
    return HTTPStatus.FORBIDDEN if call is None else HTTPStatus.OK


def _still_loaded(entry: CallerIdConfigEntry) -> bool:
    """Return whether the entry can still take a change (reading a body takes time)."""
    return entry.state is ConfigEntryState.LOADED and not entry.runtime_data.closed


async def _async_read_params(request: web.Request) -> dict[str, Any] | None:
    """Return the query (and a POST's form) as a flat dict; None when too big or ambiguous.

    Reads Home Assistant Cloud's MockRequest too: only `method`, `headers`, `query*`, `content`.
    """
    if len(request.query_string) > MAX_CALLBACK_QUERY_LENGTH:
        return None
    try:
        pairs = list(request.query.items())
        if request.method == "POST":
            body = await _async_read_body(request, MAX_CALLBACK_QUERY_LENGTH)
            if body is None:
                return None
            content_type = request.headers.get("Content-Type", "")
            if (
                content_type.partition(";")[0].strip().lower()
                == "application/x-www-form-urlencoded"
            ):
                pairs += parse_qsl(
                    body.decode("utf-8"), keep_blank_values=True, errors="strict"
                )
    except ValueError:  # UnicodeDecodeError included
        return None
    params = dict(pairs)
    # A parameter given twice could mean two things; refuse rather than guess.
    return params if len(params) == len(pairs) else None


async def _async_read_body(request: web.Request, limit: int) -> bytes | None:
    """Return the whole body, however it is chunked; None when it is over `limit`."""
    body = b""
    # Taken once: MockRequest makes a new reader, from the start, each time.
    content = request.content
    # read(n) returns what has arrived, up to n bytes, and b"" at the end.
    while chunk := await content.read(limit + 1):
        body += chunk
        if len(body) > limit:
            return None
    return body


@callback
def note_refusal(entry: CallerIdConfigEntry) -> None:
    """Count a refused callback: debug each, warn at most once an interval with the count."""
    owner = entry.runtime_data
    owner.refused += 1
    LOGGER.debug("Refused a callback that matches no pending validation")
    now = dt_util.utcnow()
    if (last := owner.refusal_warned) and now - last < REFUSAL_WARNING_INTERVAL:
        return
    LOGGER.warning(
        "Refused %d request(s) to the webhooks that matched no pending validation or "
        "call (logged at debug level; this warning repeats at most hourly)",
        owner.refused,
    )
    owner.refused = 0
    owner.refusal_warned = now


async def async_forget_webhooks(
    hass: HomeAssistant, entry: CallerIdConfigEntry, client: SevenClient
) -> None:
    """Let go of a removed entry's webhooks, repairs, hooks at seven.io and cloudhooks (best effort)."""
    cloudhook_keys = {
        entry.data[CONF_WEBHOOK_ID]: CONF_CLOUDHOOK_URL,
        call_webhook_id(entry): CONF_CALL_CLOUDHOOK_URL,
    }
    for webhook_id in cloudhook_keys:
        webhook.async_unregister(hass, webhook_id)
        hass.data.setdefault(_OWNED_WEBHOOKS, set()).discard(webhook_id)
    for key in (
        ISSUE_HOOKS_RIGHT,
        ISSUE_HOOK_SYNC_FAILED,
        ISSUE_TOO_MANY_NUMBERS,
        ISSUE_BALANCE_LOW,
        ISSUE_RECIPIENT_CALLER_ID,
    ):
        async_issue(hass, key, present=False, entry=entry)
    try:
        for hook in await async_our_hooks(entry, client):
            await client.delete_hook(hook.hook_id)
    except SevenError as err:
        LOGGER.warning("Could not delete the entry's hook at seven.io: %s", err)
    if "cloud" in hass.config.components:
        from homeassistant.components import cloud  # noqa: PLC0415

        for webhook_id, key in cloudhook_keys.items():
            if entry.data.get(key):
                with contextlib.suppress(cloud.CloudNotAvailable):
                    await cloud.async_delete_cloudhook(hass, webhook_id)
