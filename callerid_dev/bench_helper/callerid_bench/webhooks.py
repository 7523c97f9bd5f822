"""The callback floors: webhooks that do the least a callback of ours has to do.

- no-op: answers (a code for the bare gateway request may name it as its callback);
- flip: sets `states` states per callback (as many as ours writes), each a change, with
  as many attributes as ours has;
- save: saves a file with Home Assistant's Store (atomic writes) before it answers,
  the data given beforehand with the `save_setup` action (the integration's own file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
import probatio

from homeassistant.components import webhook
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util, json as json_util
from homeassistant.util.hass_dict import HassKey

from .const import (
    DOMAIN,
    FLIP_SAVE_WEBHOOK_ID,
    FLIP_WEBHOOK_ID,
    NOOP_WEBHOOK_ID,
    SAVE_WEBHOOK_ID,
)


@dataclass
class SaveFloor:
    """The file the save webhook writes on every request."""

    store: Store[dict[str, Any]]
    data: dict[str, Any]


SAVE: HassKey[SaveFloor] = HassKey(f"{DOMAIN}_save")


async def _noop(
    hass: HomeAssistant, webhook_id: str, request: web.Request
) -> web.Response:
    return web.Response(status=200)


async def _flip(
    hass: HomeAssistant, webhook_id: str, request: web.Request
) -> web.Response:
    _set_states(hass, request)
    return web.Response(status=200)


async def _flip_save(
    hass: HomeAssistant, webhook_id: str, request: web.Request
) -> web.Response:
    # What a callback must do: the file on disk before the answer, then the states
    # and an event.
    floor = hass.data[SAVE]
    await floor.store.async_save(floor.data)
    _set_states(hass, request)
    hass.bus.async_fire(f"{DOMAIN}_flipped", {"sender": request.query.get("sender")})
    return web.Response(status=200)


def _set_states(hass: HomeAssistant, request: web.Request) -> None:
    sender = request.query.get("sender", "")
    attributes = {
        key: request.query.get(key) for key in ("sender", "id", "voice", "error")
    } | {
        "status": "validated",
        "requested_at": None,
        # A new value each time: every write is a change, as each of ours is.
        "completed_at": dt_util.utcnow().isoformat(),
    }
    for index in range(int(request.query.get("states", "1"))):
        hass.states.async_set(
            f"binary_sensor.bench_flip_{sender}_{index}", "on", attributes
        )


async def _save(
    hass: HomeAssistant, webhook_id: str, request: web.Request
) -> web.Response:
    floor = hass.data[SAVE]
    await floor.store.async_save(floor.data)
    return web.Response(status=200)


async def _save_setup(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Take the file to save from a Store file on disk (its data, version, minor version)."""
    file: Any = await hass.async_add_executor_job(
        json_util.load_json, call.data["path"]
    )
    if not isinstance(file, dict) or not isinstance(file.get("data"), dict):
        raise TypeError(f"{call.data['path']} is no storage file")
    store: Store[dict[str, Any]] = Store(
        hass,
        int(file.get("version", 1)),
        f"{DOMAIN}.save",
        minor_version=int(file.get("minor_version", 1)),
        atomic_writes=True,
    )
    hass.data[SAVE] = SaveFloor(store, dict(file["data"]))
    return {"path": store.path}


def async_register_webhooks(hass: HomeAssistant) -> None:
    """Register the floors' webhooks, and the action that gives the save floor its data."""
    for name, webhook_id, handler in (
        ("no-op", NOOP_WEBHOOK_ID, _noop),
        ("flip", FLIP_WEBHOOK_ID, _flip),
        ("save", SAVE_WEBHOOK_ID, _save),
        ("flip-save", FLIP_SAVE_WEBHOOK_ID, _flip_save),
    ):
        webhook.async_register(
            hass,
            DOMAIN,
            f"bench {name}",
            webhook_id,
            handler,
            local_only=False,
            allowed_methods=("GET", "POST"),
        )

    async def save_setup(call: ServiceCall) -> ServiceResponse:
        return await _save_setup(hass, call)

    hass.services.async_register(
        DOMAIN,
        "save_setup",
        save_setup,
        schema=probatio.Schema({probatio.Required("path"): str}),
        supports_response=SupportsResponse.ONLY,
    )
