"""Bench-only baselines: no-op and state-setting webhooks, a bare gateway request, bare sensors.

Installed only into the benchmark's temporary Home Assistant; never shipped.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
import probatio

from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

DOMAIN = "callerid_bench"
NOOP_WEBHOOK_ID = "callerid-bench-noop"
FLIP_WEBHOOK_ID = "callerid-bench-flip"


async def _noop(
    hass: HomeAssistant, webhook_id: str, request: web.Request
) -> web.Response:
    return web.Response(status=200)


async def _flip(
    hass: HomeAssistant, webhook_id: str, request: web.Request
) -> web.Response:
    # The least a callback that turns a sensor on can do: set one state per sender,
    # with as many attributes as ours, and answer.
    sender = request.query.get("sender", "")
    hass.states.async_set(
        f"binary_sensor.bench_flip_{sender}",
        "on",
        {key: request.query.get(key) for key in ("sender", "id", "voice", "error")}
        | {"status": "validated", "requested_at": None, "completed_at": None},
    )
    return web.Response(status=200)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the baselines."""
    webhook.async_register(
        hass,
        DOMAIN,
        "bench no-op",
        NOOP_WEBHOOK_ID,
        _noop,
        local_only=False,
        allowed_methods=("GET", "POST"),
    )
    webhook.async_register(
        hass,
        DOMAIN,
        "bench flip",
        FLIP_WEBHOOK_ID,
        _flip,
        local_only=False,
        allowed_methods=("GET", "POST"),
    )

    async def request(call: ServiceCall) -> ServiceResponse:
        # The same single request callerid.validate makes, and nothing else.
        session = async_get_clientsession(hass)
        async with asyncio.timeout(10):
            async with session.post(
                call.data["url"],
                data={"number": call.data["number"], "callback": call.data["callback"]},
                headers={"X-Api-Key": call.data["key"], "Accept": "application/json"},
            ) as response:
                body = await response.json()
        return {"code": body.get("code")}

    hass.services.async_register(
        DOMAIN,
        "request",
        request,
        schema=probatio.Schema(
            {
                probatio.Required("url"): str,
                probatio.Required("number"): str,
                probatio.Required("callback"): str,
                probatio.Required("key"): str,
            }
        ),
        supports_response=SupportsResponse.ONLY,
    )

    def _modules(obj: Any, depth: int = 0) -> set[str]:
        # The modules of the functions a timer callback leads to: through bound
        # methods, partials, closures and Home Assistant's HassJob wrappers.
        if obj is None or depth > 4:
            return set()
        found = {str(getattr(obj, "__module__", "") or "")}
        for attr in (
            "__self__",
            "__func__",
            "func",
            "job",
            "target",
            "_run_action",
            "action",
        ):
            if (inner := getattr(obj, attr, None)) is not None and inner is not obj:
                found |= _modules(inner, depth + 1)
        for cell in getattr(obj, "__closure__", None) or ():
            try:
                found |= _modules(cell.cell_contents, depth + 1)
            except ValueError:
                continue
        if hasattr(obj, "__dict__"):
            for value in list(vars(obj).values())[:20]:
                if callable(value):
                    found |= _modules(value, depth + 1)
        return found

    async def cpu(call: ServiceCall) -> ServiceResponse:
        # CPU seconds of the event loop's thread and of the whole process so far.
        import time  # noqa: PLC0415

        return {"loop": time.thread_time(), "process": time.process_time()}

    hass.services.async_register(
        DOMAIN, "cpu", cpu, supports_response=SupportsResponse.ONLY
    )

    async def timers(call: ServiceCall) -> ServiceResponse:
        # Every live timer on the loop that leads to code of the module asked about.
        prefix = call.data["module"]
        scheduled = [
            h for h in getattr(hass.loop, "_scheduled", []) if not h.cancelled()
        ]
        found = [
            repr(handle)[:160]
            for handle in scheduled
            if any(
                m.startswith(prefix)
                for m in _modules(getattr(handle, "_callback", None))
            )
        ]
        return {"timers": found, "scheduled_total": len(scheduled)}

    hass.services.async_register(
        DOMAIN,
        "timers",
        timers,
        schema=probatio.Schema({probatio.Required("module"): str}),
        supports_response=SupportsResponse.ONLY,
    )

    async def profile(call: ServiceCall) -> ServiceResponse:
        # cProfile of the event loop thread for a while, for finding where time goes.
        import cProfile  # noqa: PLC0415
        import pstats  # noqa: PLC0415

        profiler = cProfile.Profile()
        profiler.enable()
        await asyncio.sleep(call.data["seconds"])
        profiler.disable()
        await hass.async_add_executor_job(
            lambda: (
                pstats.Stats(profiler)
                .sort_stats("cumulative")
                .dump_stats(call.data["path"])
            )
        )
        return {"path": call.data["path"]}

    hass.services.async_register(
        DOMAIN,
        "profile",
        profile,
        schema=probatio.Schema(
            {probatio.Required("seconds"): float, probatio.Required("path"): str}
        ),
        supports_response=SupportsResponse.ONLY,
    )
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Set up N bare binary sensors."""
    await hass.config_entries.async_forward_entry_setups(
        entry, [Platform.BINARY_SENSOR]
    )
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Unload the sensors."""
    return await hass.config_entries.async_unload_platforms(
        entry, [Platform.BINARY_SENSOR]
    )
