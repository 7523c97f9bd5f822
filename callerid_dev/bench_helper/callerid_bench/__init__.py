"""Bench-only baselines: no-op and state-setting webhooks, a bare gateway request, bare sensors.

Also the bench's probes: the loop's CPU time, cProfile, live timers, a config entry's
registry entries, and the journal's writes (timed, or with fsync left out).
Installed only into the benchmark's temporary Home Assistant; never shipped.
"""

from __future__ import annotations

import asyncio
from collections import Counter
import gc
import importlib
import os
import threading
import time
from types import ModuleType
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
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

DOMAIN = "callerid_bench"
NOOP_WEBHOOK_ID = "callerid-bench-noop"
FLIP_WEBHOOK_ID = "callerid-bench-flip"
PLATFORMS = [Platform.BINARY_SENSOR, Platform.SENSOR]
JOURNAL_MODULE = "custom_components.callerid.journal"


class JournalProbe:
    """Times the journal's writes (one per batch of entries) and its fsyncs; can skip fsync.

    Patches the integration's journal module in this process only: its `_append` (run in
    the executor, once per batch) and the `os` it calls fsync through.
    """

    def __init__(self, module: ModuleType) -> None:
        """Install the probe."""
        self.fsync = True
        self._lock = threading.Lock()
        self._appends: list[tuple[float, int, int]] = []
        self._fsyncs: list[float] = []
        original = module._append
        probe = self

        def append(path: str, fd: int | None, data: bytes) -> int:
            started = time.perf_counter()
            try:
                return int(original(path, fd, data))
            finally:
                with probe._lock:
                    probe._appends.append(
                        (time.perf_counter() - started, data.count(b"\n"), len(data))
                    )

        class _Os:
            # The os module as the journal sees it, fsync timed or left out.
            def __getattr__(self, name: str) -> Any:
                return getattr(os, name)

            @staticmethod
            def fsync(fd: int) -> None:
                if not probe.fsync:
                    return
                started = time.perf_counter()
                os.fsync(fd)
                with probe._lock:
                    probe._fsyncs.append(time.perf_counter() - started)

        module._append = append
        module.os = _Os()  # type: ignore[assignment]

    def take(self) -> dict[str, Any]:
        """Return what was recorded since the last call, and start afresh."""
        with self._lock:
            appends, self._appends = self._appends, []
            fsyncs, self._fsyncs = self._fsyncs, []
        return {
            "fsync": self.fsync,
            "batches": [list(batch) for batch in appends],
            "fsyncs": fsyncs,
        }


async def _noop(
    hass: HomeAssistant, webhook_id: str, request: web.Request
) -> web.Response:
    return web.Response(status=200)


async def _flip(
    hass: HomeAssistant, webhook_id: str, request: web.Request
) -> web.Response:
    # The least a callback that turns a sensor on can do: set one state per sender
    # (or `states` states), with as many attributes as ours, and answer.
    sender = request.query.get("sender", "")
    attributes = {
        key: request.query.get(key) for key in ("sender", "id", "voice", "error")
    } | {"status": "validated", "requested_at": None, "completed_at": None}
    for index in range(int(request.query.get("states", "1"))):
        hass.states.async_set(
            f"binary_sensor.bench_flip_{sender}_{index}", "on", attributes
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

    _register_probes(hass)
    _register_state_probes(hass)
    return True


def _register_probes(hass: HomeAssistant) -> None:
    """Register the actions that look into the running process."""

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

    # The garbage collector's passes so far, by generation: [count, seconds].
    collected: dict[str, list[float]] = {}
    collecting = [0.0]

    def _collect(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collecting[0] = time.perf_counter()
            return
        counts = collected.setdefault(str(info["generation"]), [0, 0.0])
        counts[0] += 1
        counts[1] += time.perf_counter() - collecting[0]

    gc.callbacks.append(_collect)

    async def cpu(call: ServiceCall) -> ServiceResponse:
        # CPU seconds of the event loop's thread and of the whole process so far, and
        # the garbage collector's passes (wall time, in whichever thread).
        return {
            "loop": time.thread_time(),
            "process": time.process_time(),
            "gc": {gen: list(counts) for gen, counts in collected.items()},
        }

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

    running: list[Any] = []

    async def profile(call: ServiceCall) -> ServiceResponse:
        # cProfile of the event loop thread for a while, for finding where time goes:
        # `seconds` long, or from a call with `start` to the next call without it.
        import cProfile  # noqa: PLC0415
        import pstats  # noqa: PLC0415

        if call.data.get("start"):
            profiler = cProfile.Profile()
            running[:] = [profiler]
            profiler.enable()
            return {"started": True}
        if "seconds" in call.data:
            profiler = cProfile.Profile()
            profiler.enable()
            await asyncio.sleep(call.data["seconds"])
        else:
            profiler = running.pop()
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
            {
                probatio.Optional("seconds"): float,
                probatio.Optional("path"): str,
                probatio.Optional("start"): bool,
            }
        ),
        supports_response=SupportsResponse.ONLY,
    )


def _register_state_probes(hass: HomeAssistant) -> None:
    """Register the actions that report on the heap, registries and the journal."""

    async def collect(call: ServiceCall) -> ServiceResponse:
        # A full pass of the garbage collector now: what comes next starts from the
        # same state, whichever way the last allocations went.
        started = time.perf_counter()
        gc.collect()
        return {"seconds": time.perf_counter() - started}

    hass.services.async_register(
        DOMAIN, "collect", collect, supports_response=SupportsResponse.ONLY
    )

    async def heap(call: ServiceCall) -> ServiceResponse:
        # How many objects the garbage collector tracks: what a full pass walks.
        return {"gc_objects": len(gc.get_objects())}

    hass.services.async_register(
        DOMAIN, "heap", heap, supports_response=SupportsResponse.ONLY
    )

    async def registry(call: ServiceCall) -> ServiceResponse:
        # How many devices a config entry has, and the registry entries on each:
        # {"entries,enabled": devices with that many}.
        entry_id = call.data["config_entry_id"]
        entities = er.async_entries_for_config_entry(er.async_get(hass), entry_id)
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)
        per_device: dict[str | None, list[int]] = {}
        for entity in entities:
            counts = per_device.setdefault(entity.device_id, [0, 0])
            counts[0] += 1
            counts[1] += entity.disabled_by is None
        shapes = Counter(f"{total},{enabled}" for total, enabled in per_device.values())
        return {
            "devices": len(devices),
            "entities": len(entities),
            "enabled": sum(entity.disabled_by is None for entity in entities),
            "shapes": dict(shapes),
        }

    hass.services.async_register(
        DOMAIN,
        "registry",
        registry,
        schema=probatio.Schema({probatio.Required("config_entry_id"): str}),
        supports_response=SupportsResponse.ONLY,
    )

    probe: list[JournalProbe] = []

    async def journal(call: ServiceCall) -> ServiceResponse:
        # Install the journal probe (once the integration is loaded); set whether
        # the journal fsyncs; return (and forget) the writes recorded so far.
        if not probe:
            probe.append(JournalProbe(importlib.import_module(JOURNAL_MODULE)))
        result = probe[0].take()
        if "fsync" in call.data:
            probe[0].fsync = call.data["fsync"]
        return result

    hass.services.async_register(
        DOMAIN,
        "journal",
        journal,
        schema=probatio.Schema({probatio.Optional("fsync"): bool}),
        supports_response=SupportsResponse.ONLY,
    )


def _platforms(entry: ConfigEntry) -> list[Platform]:
    # The sensor platform only for entries that have sensors: one bare sensor per
    # index costs what it always did.
    sensors = entry.data.get("entities", 1) - 1 + entry.data.get("disabled", 0)
    return PLATFORMS if sensors else [Platform.BINARY_SENSOR]


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Set up N bare binary sensors, and the further sensors of each, if any."""
    await hass.config_entries.async_forward_entry_setups(entry, _platforms(entry))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Unload the sensors."""
    return await hass.config_entries.async_unload_platforms(entry, _platforms(entry))
