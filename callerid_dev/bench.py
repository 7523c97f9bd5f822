"""Benchmarks against Home Assistant's own floor, measured in the same runs (A B A B ...).

Run by scripts/bench; prints ratios and writes bench/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import json
import os
from pathlib import Path
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import aiohttp
from yarl import URL

from custom_components.callerid.phone import format_number
from homeassistant import const as ha_const

from .gateway_sim import Simulator
from .harness import PROJECT, HassClient, HassProcess, free_port, simulator_server

HELPER = Path(__file__).parent / "bench_helper" / "callerid_bench"
KEY = "demo-key"
SEVEN = {"id": "1", "success": "1", "error": "", "voice": "1"}
LOOPS = 5  # A B pairs per measurement
# States a valid callback writes: the number's Caller ID and Status (Last call does not
# change; Last completed, disabled by default, writes none).
CALLBACK_STATES = 2


def spread(values: list[float]) -> dict[str, float]:
    """Median, min, max and the relative spread of a sample."""
    median = statistics.median(values)
    return {
        "median": median,
        "min": min(values),
        "max": max(values),
        "spread": (max(values) - min(values)) / median if median else 0.0,
    }


def percentile(values: list[float], fraction: float) -> float:
    """Return the value below which `fraction` of the sample lies."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def blocking_calls(log: str) -> int:
    """Count the blocking calls in the event loop that Home Assistant reported in our code."""
    return sum(
        1
        for line in log.splitlines()
        if "Detected blocking call" in line and "callerid" in line
    )


def rss_mib(pid: int) -> float:
    """Return a process's resident memory in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Instance:
    """A real hass with the integration and the bench helper, on a scratch config."""

    def __init__(self, root: Path, name: str) -> None:
        """Prepare, but do not start."""
        self.process = HassProcess(
            config_dir=root / name,
            port=free_port(),
            extra_config="callerid_bench:\n",
            log_level="warning",
        )
        helper = self.process.config_dir / "custom_components" / "callerid_bench"
        helper.parent.mkdir(parents=True, exist_ok=True)
        if not helper.exists():
            helper.symlink_to(HELPER)
        self.session: aiohttp.ClientSession | None = None
        self.api: HassClient | None = None

    async def start(self) -> HassClient:
        """Start hass, onboard or log in."""
        await self.process.start()
        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=120),
            connector=aiohttp.TCPConnector(limit=64),
        )
        self.api = HassClient(self.session, self.process.url)
        if await self.api.onboarded():
            await self.api.login()
        else:
            await self.api.onboard()
        await self.api.wait_until_running()
        services = await self.api.request("GET", "/api/services")
        if not any(service["domain"] == "callerid_bench" for service in services):
            raise RuntimeError("the bench helper did not set up")
        return self.api

    async def stop(self) -> None:
        """Stop hass."""
        if self.session is not None:
            await self.session.close()
        await self.process.stop()

    def log(self) -> str:
        """Return the process's log."""
        return self.process.log_path.read_text(errors="replace")

    async def settle(self, quiet: float = 3.0, limit: float = 120.0) -> None:
        """Wait until the log has been quiet for `quiet` seconds.

        With 20,000 entities, Home Assistant's start-up (the conversation agent exposing
        every entity) keeps the loop busy logging for a while; nothing is timed meanwhile.
        """
        deadline = time.monotonic() + limit
        size, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if (now := self.process.log_path.stat().st_size) != size:
                size, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            await asyncio.sleep(0.5)


async def flow(api: HassClient, handler: str, data: dict[str, Any]) -> str:
    """Create a config entry through its flow; return the entry id."""
    result = await api.request(
        "POST", "/api/config/config_entries/flow", {"handler": handler}
    )
    result = await api.request(
        "POST", f"/api/config/config_entries/flow/{result['flow_id']}", data
    )
    if result.get("type") != "create_entry":
        raise RuntimeError(result)
    return str(result["result"]["entry_id"])


async def wait_until_loaded(api: HassClient, entry_id: str, limit: float = 60) -> None:
    """Wait for a config entry to be loaded (again, after its options changed)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        entries = await api.request("GET", "/api/config/config_entries/entry")
        if any(e["entry_id"] == entry_id and e["state"] == "loaded" for e in entries):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"config entry {entry_id} did not load")


async def timed(action: Callable[[], Awaitable[Any]]) -> float:
    """Return how long `action` took, in seconds."""
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


# -- 1. callbacks --------------------------------------------------------------------------


async def helper(api: HassClient, service: str, data: Any = None) -> Any:
    """Call one of the bench helper's actions and return its response."""
    result = await api.request(
        "POST", f"/api/services/callerid_bench/{service}?return_response", data or {}
    )
    return result["service_response"]


async def loop_cpu(api: HassClient) -> float:
    """Return the CPU seconds the event loop's thread has used so far."""
    return float((await helper(api, "cpu"))["loop"])


async def pending_callbacks(
    api: HassClient, sim: Simulator, first: int, count: int
) -> list[URL]:
    """Start validations of `count` new numbers (untimed); return seven.io's callbacks for them."""
    urls = []
    for i in range(first, first + count):
        number = f"+49151{i:08d}"
        await api.validate(number)
        pending = sim.pending[number[1:]]
        assert pending.callback is not None
        urls.append(
            URL(pending.callback, encoded=True).extend_query(
                SEVEN | {"sender": number[1:], "formatted_output": number}
            )
        )
    return urls


def journal_summary(batches: list[list[float]], fsyncs: list[float]) -> dict[str, Any]:
    """Summarise the journal's writes: entries per write, time per write and per fsync."""
    seconds = [batch[0] for batch in batches]
    lines = [int(batch[1]) for batch in batches]
    return {
        "writes": len(batches),
        "entries": sum(lines),
        "entries_per_write": sum(lines) / len(batches) if batches else 0.0,
        "entries_per_write_max": max(lines, default=0),
        "write_ms_p50": percentile(seconds, 0.5) * 1000 if seconds else 0.0,
        "write_ms_p99": percentile(seconds, 0.99) * 1000 if seconds else 0.0,
        "fsyncs": len(fsyncs),
        "fsync_ms_p50": percentile(fsyncs, 0.5) * 1000 if fsyncs else 0.0,
        "fsync_ms_p99": percentile(fsyncs, 0.99) * 1000 if fsyncs else 0.0,
    }


async def fire(
    api: HassClient, urls: list[URL], concurrency: int
) -> tuple[float, list[float]]:
    """GET every URL, `concurrency` at a time; return the seconds taken and each latency."""
    session = api._session
    latencies: list[float] = []
    queue = list(urls)

    async def worker() -> None:
        while queue:
            url = queue.pop()
            started = time.perf_counter()
            async with session.get(url) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url.path}: HTTP {response.status}")
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


async def bench_callbacks(
    api: HassClient, sim: Simulator, per_round: int, concurrency: int
) -> dict[str, Any]:
    """Time valid seven.io callbacks into our webhook against the floors.

    Floors: a no-op webhook, and a webhook that only sets one state per callback
    ("flip", the floor the target is set against); the same webhook setting as many
    states per callback as ours writes shows how much of the rest is Home Assistant's
    cost of writing states. Ours runs twice a round: as
    shipped (every change fsynced before the callback is answered) and with the
    journal's fsync left out by the bench helper, which shows what durability costs
    with group commit. The event loop's own CPU time per request is taken too: less
    disturbed by other processes than the rate.
    """
    kinds = ("ours", "noop", "flip", "flip_same_states", "ours_no_fsync")
    rate: dict[str, list[float]] = {kind: [] for kind in kinds}
    cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
    latency: dict[str, list[float]] = {kind: [] for kind in kinds}
    journal: dict[str, tuple[list[list[float]], list[float]]] = {
        kind: ([], []) for kind in ("ours", "ours_no_fsync")
    }
    await helper(api, "journal", {"fsync": True})  # installs the probe
    for round_index in range(LOOPS):
        # Untimed: start fresh validations, so every callback flips a sensor.
        first = round_index * per_round * 2
        ours_urls = await pending_callbacks(api, sim, first, per_round)
        urls = {
            "ours": ours_urls,
            "ours_no_fsync": await pending_callbacks(
                api, sim, first + per_round, per_round
            ),
        } | {
            name: [
                URL(f"{api.url}/api/webhook/callerid-bench-{hook}")
                .with_query(url.query)
                .update_query(extra)
                for url in ours_urls
            ]
            for name, hook, extra in (
                ("noop", "noop", {}),
                ("flip", "flip", {}),
                ("flip_same_states", "flip", {"states": str(CALLBACK_STATES)}),
            )
        }
        for kind in kinds:
            if kind.startswith("ours"):
                # Forget the validations' writes; fsync on or off for this run.
                await helper(api, "journal", {"fsync": kind == "ours"})
            before = await loop_cpu(api)
            seconds, latencies = await fire(api, urls[kind], concurrency)
            cpu[kind].append((await loop_cpu(api) - before) / per_round)
            rate[kind].append(per_round / seconds)
            latency[kind] += latencies
            if kind.startswith("ours"):
                taken = await helper(api, "journal", {"fsync": True})
                journal[kind][0].extend(taken["batches"])
                journal[kind][1].extend(taken["fsyncs"])
    # Every callback must have flipped its sensor.
    states = await api.request("GET", "/api/states")
    on = sum(
        1
        for state in states
        if state["entity_id"].startswith("binary_sensor.49_151")
        and state["state"] == "on"
    )
    if on != LOOPS * per_round * 2:
        raise RuntimeError(f"only {on} of {LOOPS * per_round * 2} sensors turned on")

    def median(kind: str) -> float:
        return statistics.median(rate[kind])

    return {
        "requests_per_round": per_round,
        "concurrency": concurrency,
        **{f"{kind}_per_s": spread(rate[kind]) for kind in kinds},
        **{
            f"{kind}_latency_ms": {
                "p50": percentile(latency[kind], 0.5) * 1000,
                "p99": percentile(latency[kind], 0.99) * 1000,
            }
            for kind in kinds
        },
        "loop_cpu_ms_per_request": {
            kind: statistics.median(cpu[kind]) * 1000 for kind in kinds
        },
        "journal": {kind: journal_summary(*journal[kind]) for kind in journal},
        "callback_throughput_ratio": median("ours") / median("noop"),
        "callback_throughput_ratio_vs_flip": median("ours") / median("flip"),
        "callback_throughput_ratio_vs_same_states": median("ours")
        / median("flip_same_states"),
        "callback_p50_latency_ratio": percentile(latency["ours"], 0.5)
        / percentile(latency["noop"], 0.5),
        "callback_p99_latency_ratio": percentile(latency["ours"], 0.99)
        / percentile(latency["noop"], 0.99),
        # Callbacks/s with fsync as a share of callbacks/s without: 1.0 is free.
        "callback_fsync_ratio": median("ours") / median("ours_no_fsync"),
        "callback_loop_cpu_ratio_vs_flip": statistics.median(cpu["ours"])
        / statistics.median(cpu["flip"]),
    }


# -- 2. the action -------------------------------------------------------------------------


async def bare_request(api: HassClient, sim_url: str, number: str) -> Any:
    """Make the gateway request callerid.validate makes, and nothing else, in hass."""
    # Another number than ours, so the simulator's call for ours stays in place.
    number = number.replace("+49176", "+49177", 1)
    return await api.request(
        "POST",
        "/api/services/callerid_bench/request?return_response",
        {
            "url": f"{sim_url}/validate_for_voice",
            "number": number,
            "callback": f"{api.url}/api/webhook/callerid-bench-noop?token=x",
            "key": KEY,
        },
    )


async def bench_validate(
    api: HassClient, sim_url: str, per_round: int
) -> dict[str, Any]:
    """callerid.validate end to end vs an action making the same single gateway request.

    Steady state: the same few numbers again and again (cooldown 0), so ours does its
    whole job (gateway, notification, storage, entity write) but creates no entity.
    First time: a new number each call, which also creates its device and entities.
    The steady state once more with the journal's fsync left out shows what waiting
    for the disk adds.
    """

    async def bare(number: str) -> Any:
        return await bare_request(api, sim_url, number)

    results: dict[str, Any] = {}
    for name, numbers in (
        ("steady", lambda i: f"+4917650{i % 5:06d}"),
        ("first_time", lambda i: f"+4917660{i:06d}"),
        ("steady_no_fsync", lambda i: f"+4917650{i % 5:06d}"),
    ):
        await helper(api, "journal", {"fsync": name != "steady_no_fsync"})
        ours: list[float] = []
        base: list[float] = []
        counter = 0
        for _ in range(LOOPS):
            for _ in range(per_round):
                number = numbers(counter)
                counter += 1
                ours.append(await timed(lambda number=number: api.validate(number)))
                base.append(await timed(lambda number=number: bare(number)))
        results[name] = {
            "calls": len(ours),
            "ours_ms": {k: v * 1000 for k, v in spread(ours).items() if k != "spread"},
            "bare_ms": {k: v * 1000 for k, v in spread(base).items() if k != "spread"},
            "ratio": statistics.median(ours) / statistics.median(base),
        }
    await helper(api, "journal", {"fsync": True})
    results["validate_latency_ratio"] = results["steady"]["ratio"]
    return results


# -- 4. idle --------------------------------------------------------------------------------


async def idle_check(api: HassClient, sim: Simulator, sim_url: str) -> dict[str, Any]:
    """Count our timers while a code is pending (the detector must see them), then idle."""

    async def our_timers() -> list[str]:
        result = await api.request(
            "POST",
            "/api/services/callerid_bench/timers?return_response",
            {"module": "custom_components.callerid"},
        )
        return list(result["service_response"]["timers"])

    await api.validate("+4917699000001")
    pending = len(sim.pending)
    while_pending = await our_timers()
    # Type every outstanding code: each validation completes and nothing is left to do.
    session = api._session
    for number, call in list(sim.pending.items()):
        async with session.post(
            f"{sim_url.removesuffix('/api')}/_sim/keypad",
            json={"number": f"+{number}", "digits": call.code},
        ) as response:
            response.raise_for_status()
    await asyncio.sleep(1)
    states = await api.request("GET", "/api/states")
    still_pending = sum(1 for s in states if s["attributes"].get("status") == "pending")
    # Idle for a while: our code must not run at all (no timers, no polling).
    await asyncio.sleep(5)
    idle = await our_timers()
    return {
        "pending_validations": pending,
        "timers_while_pending": len(while_pending),
        "pending_after_keypad": still_pending,
        "timers_while_idle": len(idle),
        "idle_timer_examples": idle[:3],
    }


# -- 3. scale --------------------------------------------------------------------------------

# Home Assistant's floors for N numbers, as bench helper entries: N bare binary sensors;
# N with a device each (one sensor per device, the floor reported before the integration
# had more than one entity per number); and N devices with as many entities each, enabled
# and disabled by default, as the integration has for each of the bench's numbers.
FLOORS = ("bare", "one_sensor_devices", "devices")


def floor_entry(kind: str, count: int, shape: dict[str, int]) -> dict[str, Any]:
    """Return the bench helper's config flow input for a floor of `count` numbers.

    The floor with ours' shape has as many devices as ours has (numbers past Home
    Assistant's entity limit have none), each with as many entities.
    """
    if kind == "bare":
        return {"count": count}
    if kind == "one_sensor_devices":
        return {"count": count, "devices": True}
    return {
        "count": shape["devices"],
        "devices": True,
        "entities": shape["enabled"],
        "disabled": shape["entities"] - shape["enabled"],
    }


def stored_numbers(count: int, first: int | None = None) -> dict[str, Any]:
    """Return a storage file with `count` validated numbers, as the integration writes it."""
    now = "2026-11-27T12:00:00+00:00"
    # Each count gets its own range of numbers, so entries never share one.
    first = count * 10 if first is None else first
    numbers = [f"+4915{200000000 + first + i}" for i in range(count)]
    return {
        "version": 1,
        "minor_version": 1,
        "key": "callerid",
        "data": {
            "numbers": [
                {
                    "number": number,
                    "formatted": format_number(number),
                    "status": "validated",
                    "requested_at": now,
                    "completed_at": now,
                    "voice": True,
                    "caller_id": 100000 + i,
                    "error": None,
                    "token_hash": None,
                }
                for i, number in enumerate(numbers)
            ]
        },
    }


async def registry_shape(api: HassClient, entry_id: str) -> dict[str, Any]:
    """Return a config entry's devices and registry entries (all, and enabled) per device.

    Raises unless every device has the same entities: the floor copies that shape.
    """
    found = await helper(api, "registry", {"config_entry_id": entry_id})
    if len(found["shapes"]) != 1:
        raise RuntimeError(f"devices of {entry_id} differ: {found['shapes']}")
    (shape,) = found["shapes"]
    entities, enabled = (int(n) for n in shape.split(","))
    return {"devices": found["devices"], "entities": entities, "enabled": enabled}


async def scale_instance(
    root: Path,
    name: str,
    sim: Simulator,
    sim_url: str,
    ours: list[int],
    floors: dict[str, list[int]],
    shape: dict[str, int] | None,
) -> tuple[Instance, dict[str, dict[int, str]]]:
    """Start hass with callerid entries holding `ours` stored numbers, and floor entries.

    `floors`: the counts of each kind of floor (see FLOORS), entered before the restart,
    with `shape` the entities per device of the matched floor. Returns the entry ids by
    kind and count. The numbers are written while hass is stopped, as after a restart.
    """
    instance = Instance(root, name)
    api = await instance.start()
    ids: dict[str, dict[int, str]] = {"ours": {}}
    for count in ours:
        sim.keys[f"bench-{count}"] = sim.keys[KEY]
        ids["ours"][count] = await flow(
            api,
            "callerid",
            {"api_key": f"bench-{count}", "advanced": {"base_url": sim_url}},
        )
    for kind, counts in floors.items():
        assert shape is not None or kind != "devices"
        ids[kind] = {
            count: await flow(
                api, "callerid_bench", floor_entry(kind, count, shape or {})
            )
            for count in counts
        }
    await instance.stop()
    for count, entry_id in ids["ours"].items():
        path = instance.process.config_dir / ".storage" / f"callerid.{entry_id}"
        path.write_text(json.dumps(stored_numbers(count)))
    await instance.start()
    await instance.settle()
    return instance, ids


async def scale_memory(
    root: Path,
    sim: Simulator,
    sim_url: str,
    plan: list[tuple[str, int]],
    shapes: dict[int, dict[str, int]],
) -> dict[str, Any]:
    """Resident memory (and objects the collector tracks) of one process per (kind, count).

    Each process has the same config as the others but for the one entry.
    """
    kinds = ("ours", *FLOORS)
    memory: dict[str, Any] = {}
    rss: dict[tuple[str, int], float] = {}
    objects: dict[tuple[str, int], int] = {}
    for kind, count in plan:
        inst, ids = await scale_instance(
            root,
            f"memory-{kind}-{count}",
            sim,
            sim_url,
            [count] if kind == "ours" else [],
            {kind: [count]} if kind in FLOORS else {},
            shapes.get(count),
        )
        try:
            await asyncio.sleep(5)
            assert inst.process.process is not None
            rss[kind, count] = rss_mib(inst.process.process.pid)
            assert inst.api is not None
            objects[kind, count] = (await helper(inst.api, "heap"))["gc_objects"]
            if kind == "ours":
                # Past the cap, which entities Home Assistant refused may differ
                # from process to process.
                shape = await registry_shape(inst.api, ids["ours"][count])
                if shape != shapes[count]:
                    raise RuntimeError(f"{count} numbers: {shape}, not {shapes[count]}")
        finally:
            await inst.stop()
    base_rss, base_objects = rss["base", 0], objects["base", 0]
    for count in sorted({count for _, count in plan if count}):
        measured = [kind for kind in kinds if (kind, count) in rss]
        memory[str(count)] = {
            "process_rss": {"base": base_rss}
            | {kind: rss[kind, count] for kind in measured},
            **{f"{kind}_increment": rss[kind, count] - base_rss for kind in measured},
            # Objects the garbage collector tracks, per number: a full pass walks them.
            "gc_objects_per_number": {
                kind: (objects[kind, count] - base_objects) / count for kind in measured
            },
        }
    return memory


def gc_passes(before: dict[str, Any], after: dict[str, Any]) -> tuple[float, int]:
    """Return the collector's seconds and full passes between two `cpu` answers."""
    seconds = sum(
        after["gc"][gen][1] - before["gc"].get(gen, [0, 0.0])[1] for gen in after["gc"]
    )
    full = after["gc"].get("2", [0, 0.0])[0] - before["gc"].get("2", [0, 0.0])[0]
    return seconds, int(full)


async def time_reloads(api: HassClient, entries: dict[str, str]) -> dict[str, Any]:
    """Time reloads of each entry, alternating, LOOPS rounds; with the collector's share.

    A full pass of the garbage collector walks every object of the process (seconds,
    with the floors in it) and comes whenever enough objects have piled up since the
    last one: alternating in a fixed order, it would land on the same kind each round.
    So every round starts after a full pass (untimed), the order turns each round, and
    the collector's time inside each reload is reported beside it.
    """
    kinds = list(entries)
    samples: dict[str, list[float]] = {kind: [] for kind in kinds}
    collector: dict[str, list[float]] = {kind: [] for kind in kinds}
    full: dict[str, int] = dict.fromkeys(kinds, 0)
    for round_index in range(LOOPS):
        await helper(api, "collect")
        turn = round_index % len(kinds)
        for kind in kinds[turn:] + kinds[:turn]:
            before = await helper(api, "cpu")
            samples[kind].append(
                await timed(
                    lambda e=entries[kind]: api.request(
                        "POST", f"/api/config/config_entries/entry/{e}/reload"
                    )
                )
            )
            seconds, passes = gc_passes(before, await helper(api, "cpu"))
            collector[kind].append(seconds)
            full[kind] += passes
    return {
        kind: spread(samples[kind])
        | {
            "gc_s_median": statistics.median(collector[kind]),
            "gc_full_passes": full[kind],
            "without_gc_median": statistics.median(
                [t - g for t, g in zip(samples[kind], collector[kind], strict=True)]
            ),
        }
        for kind in kinds
    }


async def bench_scale(
    root: Path, sim: Simulator, sim_url: str, counts: list[int]
) -> dict[str, Any]:
    """Entry setup (reload) time with N numbers vs Home Assistant's floors, alternating; memory.

    The floor with the same devices and entities as ours is made, for each count, to
    the shape the integration gave those numbers in this very run (read from the
    registry), and checked to have that shape once set up. Home Assistant refuses
    enabled entities past MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY per config entry: past
    it, the integration gives the numbers that do not fit no entities at all (and says
    so in a repair issue), so ours has fewer devices than numbers, and so has its floor.
    """
    results: dict[str, Any] = {"setup_s": {}, "memory_mib": {}}
    kinds = ("ours", *FLOORS)
    instance, ids = await scale_instance(root, "scale", sim, sim_url, counts, {}, None)
    api = instance.api
    assert api is not None
    try:
        shapes = {
            count: await registry_shape(api, ids["ours"][count]) for count in counts
        }
        states = await api.request("GET", "/api/states")
        ours_entities = sum(1 for s in states if s["entity_id"].endswith("_caller_id"))
        if ours_entities != sum(shape["devices"] for shape in shapes.values()):
            raise RuntimeError(f"{ours_entities} caller ID sensors for {shapes}")
        whole = {"registry": 4, "enabled": 3}
        results["entities_per_number"] = {
            str(count): {
                "registry": shape["entities"],
                "enabled": shape["enabled"],
                "numbers_with_entities": shape["devices"],
            }
            for count, shape in shapes.items()
        }
        for count, shape in shapes.items():
            if {k: shape[k] for k in ("entities", "enabled")} != {
                "entities": whole["registry"],
                "enabled": whole["enabled"],
            } or shape["devices"] > count:
                raise RuntimeError(f"{count} numbers: {shape}")
        # Counts past Home Assistant's cap: some numbers got no entities.
        capped = [count for count, shape in shapes.items() if shape["devices"] < count]
        for kind in FLOORS:
            ids[kind] = {
                count: await flow(
                    api, "callerid_bench", floor_entry(kind, count, shapes[count])
                )
                for count in counts
            }
        for count in counts:
            found = await registry_shape(api, ids["devices"][count])
            if found != shapes[count]:
                raise RuntimeError(
                    f"the floor of {count}: {found}, not {shapes[count]}"
                )
        # The registries save everything 10 s after the last change: not while timing.
        await asyncio.sleep(12)
        await instance.settle()
        for count in counts:
            results["setup_s"][str(count)] = await time_reloads(
                api, {kind: ids[kind][count] for kind in kinds}
            )
    finally:
        log = instance.log()
        await instance.stop()
    results["blocking_calls_ours"] = blocking_calls(log)
    results["entity_cap"] = {
        "counts_capped": capped,
        # Home Assistant's own warning when it drops an entity: should be none.
        "warnings": sum(
            1
            for line in log.splitlines()
            if "Reached the maximum of" in line and "callerid " in line
        ),
    }

    # Memory: one process each, the same config but for the entry. At the biggest
    # count against every floor; at the biggest count that is not capped (if that
    # is another) against the matched floor.
    biggest = max(counts)
    uncapped = max(count for count in counts if count not in capped)
    plan = [("base", 0)] + [(kind, biggest) for kind in kinds]
    if uncapped != biggest:
        plan += [("ours", uncapped), ("devices", uncapped)]
    results["memory_mib"] = await scale_memory(root, sim, sim_url, plan, shapes)
    return results


# -- 5. start-up without seven.io -----------------------------------------------------------


@contextlib.asynccontextmanager
async def black_hole() -> AsyncIterator[tuple[str, list[int]]]:
    """Run a gateway on 127.0.0.1 that accepts connections and never answers.

    Yields its base URL and the number of connections accepted so far.
    """
    accepted = [0]
    writers: list[asyncio.StreamWriter] = []

    async def swallow(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        accepted[0] += 1
        writers.append(writer)
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/api", accepted
    finally:
        server.close()
        for writer in writers:
            writer.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await server.wait_closed()


async def bench_blackholed(
    root: Path, sim: Simulator, sim_url: str, count: int, pairs: int
) -> dict[str, Any]:
    """Entry setup (reload) with the gateway black-holed vs answering, alternating.

    Two entries with `count` numbers each in one Home Assistant: one talks to the
    simulator, the other to a listener that accepts and never answers (its URL is put
    into the entry while hass is stopped: the config flow checks the key, and would
    not get past it). Setup must not wait on the key check or the hook sync.
    """
    kinds = ("answering", "blackholed")
    async with black_hole() as (hole_url, accepted):
        instance = Instance(root, "blackholed")
        api = await instance.start()
        try:
            ids: dict[str, str] = {}
            for kind in kinds:
                sim.keys[f"bench-{kind}"] = sim.keys[KEY]
                ids[kind] = await flow(
                    api,
                    "callerid",
                    {"api_key": f"bench-{kind}", "advanced": {"base_url": sim_url}},
                )
            await instance.stop()
            storage = instance.process.config_dir / ".storage"
            for index, kind in enumerate(kinds):
                (storage / f"callerid.{ids[kind]}").write_text(
                    json.dumps(stored_numbers(count, first=(index + 1) * 10**7))
                )
            config_entries = json.loads((storage / "core.config_entries").read_text())
            for entry in config_entries["data"]["entries"]:
                if entry["entry_id"] == ids["blackholed"]:
                    entry["data"]["base_url"] = hole_url
            (storage / "core.config_entries").write_text(json.dumps(config_entries))
            api = await instance.start()
            await instance.settle()
            samples: dict[str, list[float]] = {kind: [] for kind in kinds}
            accepted_before = accepted[0]
            for pair in range(pairs):
                # The order turns each pair: whichever goes second would otherwise
                # always follow the same kind.
                for kind in kinds if pair % 2 == 0 else kinds[::-1]:
                    # What the last setup left running (the answered key check) is done.
                    await asyncio.sleep(0.3)
                    samples[kind].append(
                        await timed(
                            lambda e=ids[kind]: api.request(
                                "POST", f"/api/config/config_entries/entry/{e}/reload"
                            )
                        )
                    )
            entries = await api.request("GET", "/api/config/config_entries/entry")
            states = {e["entry_id"]: e["state"] for e in entries}
            if any(states[ids[kind]] != "loaded" for kind in kinds):
                raise RuntimeError(f"not loaded: {states}")
            # Each setup of the black-holed entry did reach the black hole.
            reached = accepted[0] - accepted_before
            if reached < pairs:
                raise RuntimeError(f"{reached} connections to the black hole")
        finally:
            log = instance.log()
            await instance.stop()
    return {
        "numbers": count,
        "pairs": pairs,
        "setup_s": {kind: spread(sample) for kind, sample in samples.items()},
        "black_hole_connections": reached,
        "blocking_calls": blocking_calls(log),
        "setup_blackholed_ratio": statistics.median(samples["blackholed"])
        / statistics.median(samples["answering"]),
    }


def import_cost() -> dict[str, float]:
    """Seconds to import the integration once Home Assistant itself is imported (median of 5)."""
    code = (
        "import time, homeassistant.core, homeassistant.helpers.config_validation, "
        "homeassistant.components.binary_sensor, homeassistant.components.webhook, "
        "homeassistant.helpers.storage;"
        "t=time.perf_counter(); import custom_components.callerid, "
        "custom_components.callerid.config_flow, custom_components.callerid.binary_sensor;"
        "print(time.perf_counter()-t)"
    )
    samples = [
        float(
            subprocess.run(  # noqa: S603 - our interpreter, our code
                [sys.executable, "-c", code],
                check=True,
                capture_output=True,
                text=True,
                cwd=PROJECT,
            ).stdout
        )
        for _ in range(5)
    ]
    return spread(samples)


async def main_instance(root: Path, sim_url: str) -> tuple[Instance, HassClient]:
    """Start hass with one callerid entry on the simulator, codes valid 15 min, no cooldown."""
    instance = Instance(root, "main")
    api = await instance.start()
    try:
        entry_id = await flow(
            api, "callerid", {"api_key": KEY, "advanced": {"base_url": sim_url}}
        )
        options = await api.request(
            "POST", "/api/config/config_entries/options/flow", {"handler": entry_id}
        )
        await api.request(
            "POST",
            f"/api/config/config_entries/options/flow/{options['flow_id']}",
            {"code_lifetime": 15, "cooldown": 0},
        )
        await wait_until_loaded(api, entry_id)
    except BaseException:
        await instance.stop()
        raise
    return instance, api


# -- profiles -----------------------------------------------------------------------------


def print_profile(path: Path, operations: int, label: str, top: int = 25) -> None:
    """Print a profile's top functions, by own time and by cumulative time, per operation."""
    stats = pstats.Stats(str(path))
    rows = stats.stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in rows.values())

    def name(key: tuple[str, int, str]) -> str:
        file, line, function = key
        parts = Path(file).parts
        short = "/".join(parts[-3:]) if len(parts) > 1 else file
        return f"{short}:{line}({function})"

    print(
        f"\n== {label}: {operations} operations, {total / operations * 1000:.3f} ms "
        "of profiled time each (cProfile inflates it)"
    )
    for title, index in (("own time", 2), ("cumulative time", 3)):
        print(f"-- by {title}: calls/op  own ms/op  cum ms/op  function")
        ranked = sorted(rows.items(), key=lambda item: item[1][index], reverse=True)
        for key, (_, calls, own, cumulative, _) in ranked[:top]:
            print(
                f"{calls / operations:9.2f} {own / operations * 1000:10.4f} "
                f"{cumulative / operations * 1000:10.4f}  {name(key)}"
            )


async def profiled(
    api: HassClient,
    out: Path,
    label: str,
    operations: int,
    action: Callable[[], Awaitable[Any]],
) -> None:
    """Profile the event loop (cProfile, in hass) while `action` runs; print the result."""
    path = out / f"{label}.prof"
    await helper(api, "collect")  # the same start for every profile (see time_reloads)
    before = await helper(api, "cpu")
    await helper(api, "profile", {"start": True})
    await action()
    await helper(api, "profile", {"path": str(path)})
    after = await helper(api, "cpu")
    print_profile(path, operations, label)
    passes = {
        gen: [
            n - before["gc"].get(gen, [0, 0.0])[0],
            s - before["gc"].get(gen, [0, 0.0])[1],
        ]
        for gen, (n, s) in after["gc"].items()
    }
    print(
        "-- garbage collector, per generation: passes, ms per op: "
        + ", ".join(
            f"{gen}: {n:.0f}, {s / operations * 1000:.4f}"
            for gen, (n, s) in sorted(passes.items())
        )
    )


async def profile(part: str, quick: bool) -> None:
    """Run one part's workload under cProfile and print where the loop's time goes.

    Timings taken under cProfile mean nothing; the shares of the costs do. The
    profiles stay in a folder under /tmp (named at the end) for pstats or snakeviz.
    """
    root = Path(tempfile.mkdtemp(prefix="callerid-bench-"))
    out = Path(tempfile.mkdtemp(prefix="callerid-profile-"))
    sim_port = free_port()
    sim_url = f"http://127.0.0.1:{sim_port}/api"
    async with simulator_server(sim_port) as sim:
        if part in ("callbacks", "validate"):
            instance, api = await main_instance(root, sim_url)
            try:
                if part == "callbacks":
                    count = 200 if quick else 400
                    urls = await pending_callbacks(api, sim, 0, count)
                    flip = [
                        URL(f"{api.url}/api/webhook/callerid-bench-flip").with_query(
                            url.query
                        )
                        for url in urls
                    ]
                    # cProfile sees every thread: without fsync, the executor
                    # has next to nothing to do that could muddle the loop's profile.
                    await helper(api, "journal", {"fsync": False})
                    await profiled(
                        api, out, "callback", count, lambda: fire(api, urls, 16)
                    )
                    await profiled(api, out, "flip", count, lambda: fire(api, flip, 16))
                else:
                    count = 100 if quick else 200

                    async def validate() -> None:
                        for i in range(count):
                            await api.validate(f"+4917650{i % 5:06d}")

                    async def bare() -> None:
                        for i in range(count):
                            await bare_request(api, sim_url, f"+4917650{i % 5:06d}")

                    await validate()  # the numbers exist: the steady state
                    await profiled(api, out, "validate", count, validate)
                    await profiled(api, out, "bare_request", count, bare)
            finally:
                await instance.stop()
        else:
            # The most numbers whose entities stay under Home Assistant's cap.
            count = 1000 if quick else 3000
            instance, ids = await scale_instance(
                root, "profile", sim, sim_url, [count], {}, None
            )
            api = instance.api
            assert api is not None
            try:
                shape = await registry_shape(api, ids["ours"][count])
                floor = await flow(
                    api, "callerid_bench", floor_entry("devices", count, shape)
                )
                await asyncio.sleep(12)
                await instance.settle()
                for label, entry_id in (
                    ("setup", ids["ours"][count]),
                    ("setup_floor", floor),
                ):
                    await profiled(
                        api,
                        out,
                        label,
                        count,
                        lambda e=entry_id: api.request(
                            "POST", f"/api/config/config_entries/entry/{e}/reload"
                        ),
                    )
            finally:
                await instance.stop()
    shutil.rmtree(root, ignore_errors=True)
    print(f"\nprofiles in {out}")


async def run(quick: bool, only: str | None) -> dict[str, Any]:
    """Run the benchmarks; return the results."""
    # 3,000 numbers: the most whose entities stay under Home Assistant's cap of 10,000
    # enabled entities per config entry (three per number).
    counts = [10, 100, 1000] if quick else [10, 1000, 3000, 10000]
    per_round = 50 if quick else 200
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "home_assistant": ha_const.__version__,
            "load_average_at_start": os.getloadavg(),
        },
        "quick": quick,
        "loops": LOOPS,
    }
    root = Path(tempfile.mkdtemp(prefix="callerid-bench-"))
    sim_port = free_port()
    sim_url = f"http://127.0.0.1:{sim_port}/api"
    started = time.perf_counter()
    try:
        async with simulator_server(sim_port) as sim:
            if only in (None, "callbacks", "validate"):
                instance, api = await main_instance(root, sim_url)
                try:
                    if only in (None, "callbacks"):
                        print("callbacks ...", flush=True)
                        results["callbacks"] = await bench_callbacks(
                            api, sim, per_round, 16
                        )
                    if only in (None, "validate"):
                        print("validate ...", flush=True)
                        results["validate"] = await bench_validate(
                            api, sim_url, 10 if quick else 40
                        )
                    results["idle"] = await idle_check(api, sim, sim_url)
                finally:
                    log = instance.log()
                    await instance.stop()
                results["blocking_calls_main"] = blocking_calls(log)
            if only in (None, "startup"):
                print("start-up without seven.io ...", flush=True)
                results["startup"] = await bench_blackholed(
                    root, sim, sim_url, 100, 10 if quick else 40
                )
            if only in (None, "scale"):
                print("scale ...", flush=True)
                results["scale"] = await bench_scale(root, sim, sim_url, counts)
        if only is None:
            results["import_s"] = import_cost()
    except BaseException:
        print(f"failed; Home Assistant's logs are in {root}", file=sys.stderr)
        raise
    shutil.rmtree(root, ignore_errors=True)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    results["seconds"] = time.perf_counter() - started
    try:
        results["ratios"] = ratios(results, counts)
    except (KeyError, ValueError, ZeroDivisionError) as err:
        # Keep what was measured.
        results["ratios"] = {"error": repr(err)}
    return results


def ratios(results: dict[str, Any], counts: list[int]) -> dict[str, Any]:
    """Derive the headline ratios from what was measured."""
    out: dict[str, Any] = {}
    if "callbacks" in results:
        callbacks = results["callbacks"]
        for name in (
            "callback_throughput_ratio",
            "callback_throughput_ratio_vs_flip",
            "callback_throughput_ratio_vs_same_states",
            "callback_p50_latency_ratio",
            "callback_p99_latency_ratio",
            "callback_fsync_ratio",
            "callback_loop_cpu_ratio_vs_flip",
        ):
            out[name] = callbacks[name]
        journal = callbacks["journal"]["ours"]
        out["journal_entries_per_write"] = journal["entries_per_write"]
        out["journal_fsync_ms_p50"] = journal["fsync_ms_p50"]
    if "validate" in results:
        out["validate_latency_ratio"] = results["validate"]["validate_latency_ratio"]
        out["validate_first_time_ratio"] = results["validate"]["first_time"]["ratio"]
        out["validate_latency_ratio_no_fsync"] = results["validate"]["steady_no_fsync"][
            "ratio"
        ]
    if "startup" in results:
        out["setup_blackholed_ratio"] = results["startup"]["setup_blackholed_ratio"]
    if "scale" in results:
        scale = results["scale"]
        setup = scale["setup_s"]
        memory = scale["memory_mib"]
        small, mid, big = (str(c) for c in (counts[0], counts[1], counts[-1]))
        # The biggest count with every entity: the cost per number is compared up to it.
        whole = str(
            max(c for c in counts if c not in scale["entity_cap"]["counts_capped"])
        )

        def per_number(count: str, kind: str = "ours") -> float:
            # Cost per number beyond the fixed cost of an entry (the smallest count).
            return (setup[count][kind]["median"] - setup[small][kind]["median"]) / (
                int(count) - int(small)
            )

        def setup_ratio(count: str, kind: str) -> float:
            return float(setup[count]["ours"]["median"] / setup[count][kind]["median"])

        for kind, suffix in (
            ("bare", ""),
            # The same devices and entities per device as ours: the floor that matters.
            ("devices", "_vs_devices"),
            # One sensor per device, as reported before numbers had several entities.
            ("one_sensor_devices", "_vs_one_sensor_devices"),
        ):
            out[f"setup_ratio_{big}{suffix}"] = setup_ratio(big, kind)
            out[f"memory_ratio_{big}{suffix}"] = (
                memory[big]["ours_increment"] / memory[big][f"{kind}_increment"]
            )
        # The same without the collector's time inside the reloads.
        out[f"setup_ratio_{big}_vs_devices_without_gc"] = float(
            setup[big]["ours"]["without_gc_median"]
            / setup[big]["devices"]["without_gc_median"]
        )
        if whole != big:
            out[f"setup_ratio_{whole}_vs_devices"] = setup_ratio(whole, "devices")
            out[f"setup_ratio_{whole}_vs_devices_without_gc"] = float(
                setup[whole]["ours"]["without_gc_median"]
                / setup[whole]["devices"]["without_gc_median"]
            )
            out[f"memory_ratio_{whole}_vs_devices"] = (
                memory[whole]["ours_increment"] / memory[whole]["devices_increment"]
            )
        out["entity_cap_counts"] = scale["entity_cap"]["counts_capped"]
        out["scale_slope_ratio"] = per_number(whole) / per_number(mid)
        # The same for the floors: how Home Assistant itself scales.
        for kind in FLOORS:
            out[f"scale_slope_ratio_{kind}"] = per_number(whole, kind) / per_number(
                mid, kind
            )
        out["blocking_calls"] = scale["blocking_calls_ours"] + results.get(
            "blocking_calls_main", 0
        )
    if "idle" in results:
        out["idle_timers"] = results["idle"]["timers_while_idle"]
    return out


def main() -> None:
    """Run, print the ratios, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        help="where the JSON goes (default bench/results.json; bench/quick.json with "
        "--quick, which is not committed)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller counts, for trying the bench out"
    )
    parser.add_argument(
        "--only",
        choices=["callbacks", "validate", "startup", "scale"],
        help="run one part (written only to an --out given explicitly)",
    )
    parser.add_argument(
        "--profile",
        choices=["callbacks", "validate", "setup"],
        help="run one part's workload under cProfile and print the top costs (no timing)",
    )
    args = parser.parse_args()
    if args.profile:
        asyncio.run(profile(args.profile, args.quick))
        return
    results = asyncio.run(run(args.quick, args.only))
    write = args.only is None or args.out is not None
    if args.out is None:
        args.out = PROJECT / "bench" / ("quick.json" if args.quick else "results.json")
    if write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print("\nratio                          value")
    for name, value in results["ratios"].items():
        print(
            f"{name:30} {value:.3f}"
            if isinstance(value, float)
            else f"{name:30} {value}"
        )
    print(
        f"\n{results['seconds']:.0f} s"
        + (f"; full results in {args.out}" if write else "")
    )


if __name__ == "__main__":
    main()
