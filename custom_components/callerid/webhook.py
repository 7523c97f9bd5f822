"""The callback that seven.io calls when a validation completes. Reachable from the internet."""

from __future__ import annotations

from http import HTTPStatus
import re
from typing import Any

from aiohttp import web
import probatio
from yarl import URL

from homeassistant.components import webhook
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.network import NoURLAvailableError

from .const import (
    CALLBACK_TOKEN_PARAM,
    CONF_CLOUDHOOK_URL,
    DOMAIN,
    EVENT_VALIDATION_COMPLETED,
    LOGGER,
    MAX_CALLBACK_QUERY_LENGTH,
)
from .data import CallerIdConfigEntry
from .notification import async_dismiss_code
from .phone import to_e164
from .store import CallbackResult

_FLAG = probatio.In(("0", "1"))


def _bounded(pattern: str) -> probatio.Match:
    return probatio.Match(re.compile(pattern, re.ASCII | re.DOTALL))


CALLBACK_SCHEMA = probatio.Schema(
    {
        probatio.Required(CALLBACK_TOKEN_PARAM): _bounded(r"\A[A-Za-z0-9_-]{16,128}\Z"),
        probatio.Required("sender"): _bounded(r"\A\+?[0-9 ()./-]{4,32}\Z"),
        probatio.Required("success"): _FLAG,
        probatio.Optional("voice"): _FLAG,
        probatio.Optional("id"): _bounded(r"\A[0-9]{0,18}\Z"),
        probatio.Optional("formatted_output"): _bounded(r"\A[^\x00-\x1f]{0,64}\Z"),
        probatio.Optional("error"): _bounded(r"\A[^\x00-\x1f]{0,256}\Z"),
    },
    # Parameters seven.io may add later are ignored, not refused.
    extra=probatio.REMOVE_EXTRA,
)


@callback
def async_register_callback(
    hass: HomeAssistant, entry: CallerIdConfigEntry
) -> CALLBACK_TYPE:
    """Register the entry's callback webhook and return how to unregister it."""
    webhook_id = entry.data[CONF_WEBHOOK_ID]

    async def handle(
        hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        return await _async_handle_callback(hass, entry, request)

    webhook.async_register(
        hass,
        DOMAIN,
        entry.title,
        webhook_id,
        handle,
        local_only=False,
        allowed_methods=("GET", "POST"),
    )
    return lambda: webhook.async_unregister(hass, webhook_id)


async def async_callback_url(
    hass: HomeAssistant, entry: CallerIdConfigEntry, token: str
) -> str:
    """Return the URL seven.io should call for one validation, carrying its token."""
    webhook_id = entry.data[CONF_WEBHOOK_ID]
    base = await _async_cloudhook_url(hass, entry)
    if base is None:
        try:
            base = webhook.async_generate_url(hass, webhook_id)
        except NoURLAvailableError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="no_callback_url"
            ) from err
    return str(URL(base).update_query({CALLBACK_TOKEN_PARAM: token}))


async def _async_cloudhook_url(
    hass: HomeAssistant, entry: CallerIdConfigEntry
) -> str | None:
    """Return the entry's cloudhook when Home Assistant Cloud is subscribed and connected."""
    if "cloud" not in hass.config.components:
        return None
    # Imported here: the cloud integration is large and only there when loaded.
    from homeassistant.components import cloud  # noqa: PLC0415

    if not cloud.async_active_subscription(hass):
        return None
    try:
        url = await cloud.async_get_or_create_cloudhook(
            hass, entry.data[CONF_WEBHOOK_ID]
        )
    except cloud.CloudNotAvailable, cloud.CloudNotConnected:
        return None
    if entry.data.get(CONF_CLOUDHOOK_URL) != url:
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_CLOUDHOOK_URL: url}
        )
    return url


async def _async_handle_callback(
    hass: HomeAssistant, entry: CallerIdConfigEntry, request: web.Request
) -> web.Response:
    """Apply seven.io's verdict if the request proves it belongs to a pending validation."""
    params = await _async_read_params(request)
    if params is None:
        return web.Response(status=HTTPStatus.BAD_REQUEST)
    try:
        data = CALLBACK_SCHEMA(params)
    except probatio.Invalid:
        return web.Response(status=HTTPStatus.BAD_REQUEST)
    # seven.io sends the number international, usually without the +.
    if (number := to_e164(f"+{data['sender'].removeprefix('+')}", None)) is None:
        return web.Response(status=HTTPStatus.BAD_REQUEST)

    result = CallbackResult(
        success=data["success"] == "1",
        voice=data["voice"] == "1" if "voice" in data else None,
        caller_id=int(data["id"]) if data.get("id") else None,
        error=data.get("error") or None,
    )
    record = await entry.runtime_data.store.async_complete(
        number, data[CALLBACK_TOKEN_PARAM], result
    )
    if record is None:
        # Same answer whether the number is unknown or the token wrong: no oracle.
        LOGGER.debug("Refused a callback that matches no pending validation")
        return web.Response(status=HTTPStatus.FORBIDDEN)

    # Either way the code is used up.
    async_dismiss_code(hass, entry, number)
    hass.bus.async_fire(
        EVENT_VALIDATION_COMPLETED,
        {
            "config_entry_id": entry.entry_id,
            "number": number,
            "success": result.success,
            "voice": result.voice,
            "caller_id": result.caller_id,
            "error": result.error,
        },
    )
    return web.Response(status=HTTPStatus.OK)


async def _async_read_params(request: web.Request) -> dict[str, Any] | None:
    """Return the query (and form, for POST) as a flat dict; None when it is too big or ambiguous."""
    if len(request.query_string) > MAX_CALLBACK_QUERY_LENGTH:
        return None
    pairs = list(request.query.items())
    if request.method == "POST":
        if (request.content_length or 0) > MAX_CALLBACK_QUERY_LENGTH:
            return None
        body = await request.content.read(MAX_CALLBACK_QUERY_LENGTH + 1)
        if len(body) > MAX_CALLBACK_QUERY_LENGTH:
            return None
        if request.content_type == "application/x-www-form-urlencoded":
            pairs += URL.build(query_string=body.decode(errors="replace")).query.items()
    params = dict(pairs)
    # A parameter given twice could mean two things; refuse rather than guess.
    if len(params) != len(pairs):
        return None
    return params
