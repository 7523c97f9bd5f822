"""The callback that seven.io calls when a validation completes. Reachable from the internet."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
import re
from typing import Any

from aiohttp import web
import probatio
from yarl import URL

from homeassistant.components import webhook
from homeassistant.const import CONF_WEBHOOK_ID, EVENT_CORE_CONFIG_UPDATE
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util import dt as dt_util

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
from .phone import to_e164
from .store import CallbackResult, StorageWriteError

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


@callback
def async_register_callback(
    hass: HomeAssistant, entry: CallerIdConfigEntry
) -> CALLBACK_TYPE:
    """Register the entry's callback webhook and return how to unregister it."""
    webhook_id = entry.data[CONF_WEBHOOK_ID]

    async def handle(
        hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        status = await _async_handle_callback(hass, entry, request)
        if status.is_client_error:
            note_refusal(entry)
        return web.Response(status=status)

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
    return CallbackUrl(
        str(URL(base).update_query({CALLBACK_TOKEN_PARAM: token})), reachable
    )


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
    try:
        data = CALLBACK_SCHEMA(params)
    except probatio.Invalid:
        return HTTPStatus.BAD_REQUEST
    store = entry.runtime_data.store
    # seven.io sends the number international without the +, so it is usually a stored
    # E.164 number as it is; anything else is normalised first.
    sent = f"+{data['sender'].removeprefix('+')}"
    number = sent if store.get(sent) is not None else to_e164(sent, None)
    if number is None:
        return HTTPStatus.BAD_REQUEST

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
    """Return the query (and form, for POST) as a flat dict; None when too big or ambiguous."""
    if len(request.query_string) > MAX_CALLBACK_QUERY_LENGTH:
        return None
    try:
        pairs = list(request.query.items())
        if request.method == "POST":
            if (request.content_length or 0) > MAX_CALLBACK_QUERY_LENGTH:
                return None
            body = await request.content.read(MAX_CALLBACK_QUERY_LENGTH + 1)
            if len(body) > MAX_CALLBACK_QUERY_LENGTH:
                return None
            if request.content_type == "application/x-www-form-urlencoded":
                form = URL.build(query_string=body.decode(errors="replace")).query
                pairs += form.items()
    except ValueError:
        return None
    params = dict(pairs)
    # A parameter given twice could mean two things; refuse rather than guess.
    if len(params) != len(pairs):
        return None
    return params


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
            "Refused %d callback request(s) that matched no pending validation "
            "(logged at debug level; this warning repeats at most hourly)",
            refusals.count,
        )
        refusals.count = 0
        refusals.last_warning = now
