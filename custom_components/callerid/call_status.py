"""How each call ended: seven.io's `voice_status` events, and the hook that sends them.

The events arrive at a webhook of the entry's own, reachable from the internet, so
they are treated like validation callbacks: whatever does not match a call this entry
placed and that is still ringing is refused, quietly.
"""

from __future__ import annotations

import contextlib
from http import HTTPStatus
import re
from typing import Any

from aiohttp import web
import probatio

from homeassistant.components import webhook
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.util.json import JSON_DECODE_EXCEPTIONS, json_loads

from .api import (
    DEFAULT_BASE_URL,
    SevenClient,
    SevenError,
    SevenMissingScopeError,
)
from .calls import outcome_of
from .const import (
    CONF_BASE_URL,
    CONF_CALL_CLOUDHOOK_URL,
    CONF_CALL_WEBHOOK_ID,
    DOMAIN,
    EVENT_CALL_ENDED,
    ISSUE_HOOKS_RIGHT,
    LOGGER,
)
from .data import CallerIdConfigEntry
from .store import StorageWriteError
from .webhook import async_cloudhook_url, async_own_webhook

# A voice_status event is a few hundred bytes.
MAX_EVENT_SIZE = 8192
EVENT_TYPE = "voice_status"


def _bounded(pattern: str) -> probatio.Match:
    return probatio.Match(re.compile(pattern, re.ASCII | re.DOTALL))


def _as_text(value: object) -> str:
    # seven.io's SDKs show some of these as numbers, some as strings; nothing else
    # (null, true) is one of them, though str() would make it look like one.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise probatio.Invalid("expected text or a number")
    return str(value)


def _text(pattern: str) -> probatio.All[Any]:
    return probatio.All(_as_text, _bounded(pattern))


EVENT_SCHEMA = probatio.Schema(
    {
        probatio.Required("webhook_event"): EVENT_TYPE,
        probatio.Required("data"): probatio.Schema(
            {
                probatio.Required("id"): _text(r"\A[0-9A-Za-z_-]{1,64}\Z"),
                probatio.Required("status"): _text(r"\A[A-Za-z_ -]{1,32}\Z"),
                probatio.Optional("duration"): _text(r"\A[0-9]{1,6}\Z"),
                probatio.Optional("foreign_id"): _text(r"\A[0-9A-Za-z_-]{1,64}\Z"),
            },
            extra=probatio.REMOVE_EXTRA,
        ),
    },
    # Fields seven.io may add later are ignored, not refused.
    extra=probatio.REMOVE_EXTRA,
)


@callback
def async_register_call_status(hass: HomeAssistant, entry: CallerIdConfigEntry) -> None:
    """Own the entry's voice_status webhook from now until the entry is removed."""
    if CONF_CALL_WEBHOOK_ID not in entry.data:
        hass.config_entries.async_update_entry(
            entry,
            data={**entry.data, CONF_CALL_WEBHOOK_ID: webhook.async_generate_id()},
        )
    async_own_webhook(
        hass,
        entry,
        entry.data[CONF_CALL_WEBHOOK_ID],
        name=f"{entry.title} calls",
        handler=_async_handle_event,
        # seven.io posts the events as JSON.
        methods=("POST",),
    )


async def async_sync_hook(hass: HomeAssistant, entry: CallerIdConfigEntry) -> None:
    """Make sure seven.io has exactly one voice_status hook to this entry, at its URL."""
    data = entry.runtime_data
    url = await _async_event_url(hass, entry)
    if url is None:
        # The unreachable-callback repair explains it; calls still work.
        data.outcome_reported = False
        return
    try:
        ours = await _async_our_hooks(entry, data.client)
        if not [hook for hook in ours if hook.target_url == url]:
            await data.client.create_hook(url)
        for hook in ours:
            if hook.target_url != url:
                await data.client.delete_hook(hook.hook_id)
    except SevenMissingScopeError:
        data.outcome_reported = False
        ir.async_create_issue(
            hass,
            DOMAIN,
            f"{ISSUE_HOOKS_RIGHT}_{entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_HOOKS_RIGHT,
            translation_placeholders={"title": entry.title},
        )
        return
    except SevenError as err:
        LOGGER.warning("Could not set up seven.io's report of ended calls: %s", err)
        data.outcome_reported = False
        return
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_HOOKS_RIGHT}_{entry.entry_id}")
    data.outcome_reported = True


async def async_remove_hook(hass: HomeAssistant, entry: CallerIdConfigEntry) -> None:
    """Delete the entry's voice_status hooks at seven.io (the entry is removed)."""
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_HOOKS_RIGHT}_{entry.entry_id}")
    client = SevenClient(
        async_get_clientsession(hass),
        entry.data[CONF_API_KEY],
        base_url=entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL),
    )
    # Best effort: the entry goes either way; a hook left behind only points nowhere.
    with contextlib.suppress(SevenError):
        for hook in await _async_our_hooks(entry, client):
            await client.delete_hook(hook.hook_id)


async def _async_our_hooks(
    entry: CallerIdConfigEntry, client: SevenClient
) -> list[Any]:
    """Return the account's voice_status hooks that point at this entry's webhook."""
    webhook_id = entry.data.get(CONF_CALL_WEBHOOK_ID)
    cloudhook = entry.data.get(CONF_CALL_CLOUDHOOK_URL)
    return [
        hook
        for hook in await client.hooks()
        if hook.event_type == EVENT_TYPE
        and (
            (webhook_id is not None and webhook_id in hook.target_url)
            or (cloudhook is not None and hook.target_url == cloudhook)
        )
    ]


async def _async_event_url(
    hass: HomeAssistant, entry: CallerIdConfigEntry
) -> str | None:
    """Return where seven.io should send the events: cloudhook, else the external URL."""
    if (
        url := await async_cloudhook_url(
            hass,
            entry,
            webhook_key=CONF_CALL_WEBHOOK_ID,
            cloudhook_key=CONF_CALL_CLOUDHOOK_URL,
        )
    ) is not None:
        return url
    try:
        return webhook.async_generate_url(
            hass, entry.data[CONF_CALL_WEBHOOK_ID], allow_internal=False
        )
    except NoURLAvailableError:
        return None


async def _async_handle_event(
    hass: HomeAssistant, entry: CallerIdConfigEntry, request: web.Request
) -> HTTPStatus:
    """Apply a voice_status event if it is about a call this entry placed."""
    body = await request.content.read(MAX_EVENT_SIZE + 1)
    if len(body) > MAX_EVENT_SIZE:
        return HTTPStatus.BAD_REQUEST
    try:
        data = EVENT_SCHEMA(json_loads(body))["data"]
    except (*JSON_DECODE_EXCEPTIONS, probatio.Invalid):
        return HTTPStatus.BAD_REQUEST
    duration = int(data.get("duration", "0"))
    try:
        call = await entry.runtime_data.calls.async_end(
            data["id"], data.get("foreign_id"), outcome_of(data["status"], duration)
        )
    except StorageWriteError:
        # Not saved (logged); seven.io is not told all is well.
        return HTTPStatus.INTERNAL_SERVER_ERROR
    if call is None:
        # Unknown, another entry's, already ended or too old: the same answer for all.
        return HTTPStatus.FORBIDDEN
    hass.bus.async_fire(
        EVENT_CALL_ENDED,
        {
            "config_entry_id": entry.entry_id,
            "call_id": call.call_id,
            "from": call.sender,
            "to": call.recipient,
            "status": data["status"],
            "answered": data["status"] == "completed" and duration > 0,
            "duration": duration,
        },
    )
    return HTTPStatus.OK
