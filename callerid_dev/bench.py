"""Benchmarks against Home Assistant's own floor, measured in the same runs (A B A B ...).

Run by scripts/bench; prints ratios and writes bench/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
import json
import os
from pathlib import Path
import platform
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

from .gateway_sim import Simulator
from .harness import PROJECT, HassClient, HassProcess, free_port, simulator_server

HELPER = Path(__file__).parent / "bench_helper" / "callerid_bench"
KEY = "demo-key"
SEVEN = {"id": "1", "success": "1", "error": "", "voice": "1"}
LOOPS = 5  # A B pairs per measurement


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


async def bench_callbacks(
    api: HassClient, sim: Simulator, per_round: int, concurrency: int
) -> dict[str, Any]:
    """Time valid seven.io callbacks into our webhook against a no-op webhook.

    A third webhook that only sets a state per callback shows how much of the
    difference is Home Assistant's own cost of turning a sensor on.
    """
    session = api._session

    async def fire(urls: list[URL]) -> tuple[float, list[float]]:
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

    ours: list[float] = []
    noop: list[float] = []
    flip: list[float] = []
    ours_latency: list[float] = []
    noop_latency: list[float] = []
    for round_index in range(LOOPS):
        # Untimed: start fresh validations, so every callback flips a sensor.
        urls = []
        for i in range(per_round):
            number = f"+49151{round_index * per_round + i:08d}"
            await api.validate(number)
            pending = sim.pending[number[1:]]
            assert pending.callback is not None
            urls.append(
                URL(pending.callback, encoded=True).extend_query(
                    SEVEN | {"sender": number[1:], "formatted_output": number}
                )
            )
        noop_urls, flip_urls = (
            [
                URL(f"{api.url}/api/webhook/callerid-bench-{name}").with_query(
                    url.query
                )
                for url in urls
            ]
            for name in ("noop", "flip")
        )
        seconds, latency = await fire(urls)
        ours.append(per_round / seconds)
        ours_latency += latency
        seconds, latency = await fire(noop_urls)
        noop.append(per_round / seconds)
        noop_latency += latency
        seconds, _ = await fire(flip_urls)
        flip.append(per_round / seconds)
    # Every callback must have flipped its sensor.
    states = await api.request("GET", "/api/states")
    on = sum(
        1
        for state in states
        if state["entity_id"].startswith("binary_sensor.49_151")
        and state["state"] == "on"
    )
    if on != LOOPS * per_round:
        raise RuntimeError(f"only {on} of {LOOPS * per_round} sensors turned on")
    return {
        "requests_per_round": per_round,
        "concurrency": concurrency,
        "ours_per_s": spread(ours),
        "noop_per_s": spread(noop),
        "flip_per_s": spread(flip),
        "ours_latency_ms": {
            "p50": percentile(ours_latency, 0.5) * 1000,
            "p99": percentile(ours_latency, 0.99) * 1000,
        },
        "noop_latency_ms": {
            "p50": percentile(noop_latency, 0.5) * 1000,
            "p99": percentile(noop_latency, 0.99) * 1000,
        },
        "callback_throughput_ratio": statistics.median(ours) / statistics.median(noop),
        "callback_throughput_ratio_vs_flip": statistics.median(ours)
        / statistics.median(flip),
        "callback_p50_latency_ratio": percentile(ours_latency, 0.5)
        / percentile(noop_latency, 0.5),
        "callback_p99_latency_ratio": percentile(ours_latency, 0.99)
        / percentile(noop_latency, 0.99),
    }


# -- 2. the action -------------------------------------------------------------------------


async def bench_validate(
    api: HassClient, sim_url: str, per_round: int
) -> dict[str, Any]:
    """callerid.validate end to end vs an action making the same single gateway request.

    Steady state: the same few numbers again and again (cooldown 0), so ours does its
    whole job (gateway, notification, storage, entity write) but creates no entity.
    First time: a new number each call, which also creates its device and entity.
    """
    callback = f"{api.url}/api/webhook/callerid-bench-noop?token=x"

    async def bare(number: str) -> Any:
        # Another number than ours, so the simulator's call for ours stays in place.
        number = number.replace("+49176", "+49177", 1)
        return await api.request(
            "POST",
            "/api/services/callerid_bench/request?return_response",
            {
                "url": f"{sim_url}/validate_for_voice",
                "number": number,
                "callback": callback,
                "key": KEY,
            },
        )

    results: dict[str, Any] = {}
    for name, numbers in (
        ("steady", lambda i: f"+4917650{i % 5:06d}"),
        ("first_time", lambda i: f"+4917660{i:06d}"),
    ):
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


def stored_numbers(count: int) -> dict[str, Any]:
    """Return a storage file with `count` validated numbers, as the integration writes it."""
    now = "2026-11-27T12:00:00+00:00"
    # Each count gets its own range of numbers, so entries never share one.
    numbers = [f"+4915{200000000 + count * 10 + i}" for i in range(count)]
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


async def scale_instance(
    root: Path,
    name: str,
    sim: Simulator,
    sim_url: str,
    ours: list[int],
    bare: list[int],
    devices: list[int],
) -> tuple[Instance, dict[str, dict[int, str]]]:
    """Start hass with callerid entries holding `ours` stored numbers and bench entries.

    `bare`: entries of that many bare sensors; `devices`: the same, each sensor with a
    device of its own (as each of our numbers has). Returns the entry ids by kind and
    count. The numbers are written while hass is stopped, as after a restart.
    """
    instance = Instance(root, name)
    api = await instance.start()
    ours_ids: dict[int, str] = {}
    for count in ours:
        sim.keys[f"bench-{count}"] = sim.keys[KEY]
        ours_ids[count] = await flow(
            api,
            "callerid",
            {"api_key": f"bench-{count}", "advanced": {"base_url": sim_url}},
        )
    ids = {
        "ours": ours_ids,
        "bare": {
            count: await flow(api, "callerid_bench", {"count": count}) for count in bare
        },
        "devices": {
            count: await flow(api, "callerid_bench", {"count": count, "devices": True})
            for count in devices
        },
    }
    await instance.stop()
    for count, entry_id in ours_ids.items():
        path = instance.process.config_dir / ".storage" / f"callerid.{entry_id}"
        path.write_text(json.dumps(stored_numbers(count)))
    await instance.start()
    await instance.settle()
    return instance, ids


async def bench_scale(
    root: Path, sim: Simulator, sim_url: str, counts: list[int]
) -> dict[str, Any]:
    """Entry setup (reload) time with N numbers vs N bare sensors, alternating; memory.

    Bare sensors with a device each are measured too: every number has its own device,
    so they show how much of the difference is Home Assistant's device registry.
    """
    results: dict[str, Any] = {"setup_s": {}, "memory_mib": {}}
    kinds = ("ours", "bare", "devices")
    instance, ids = await scale_instance(
        root, "scale", sim, sim_url, counts, counts, counts
    )
    api = instance.api
    assert api is not None
    try:
        states = await api.request("GET", "/api/states")
        ours_entities = sum(1 for s in states if s["entity_id"].endswith("_caller_id"))
        if ours_entities != sum(counts):
            raise RuntimeError(
                f"{ours_entities} caller ID sensors, expected {sum(counts)}"
            )
        for count in counts:
            samples: dict[str, list[float]] = {kind: [] for kind in kinds}
            for _ in range(LOOPS):
                for kind in kinds:
                    samples[kind].append(
                        await timed(
                            lambda e=ids[kind][count]: api.request(
                                "POST", f"/api/config/config_entries/entry/{e}/reload"
                            )
                        )
                    )
            results["setup_s"][str(count)] = {
                kind: spread(sample) for kind, sample in samples.items()
            }
    finally:
        log = instance.log()
        await instance.stop()
    results["blocking_calls_ours"] = blocking_calls(log)

    # Memory: one process each, the same config but for the entry.
    biggest = max(counts)
    rss: dict[str, float] = {}
    for kind in ("base", *kinds):
        inst, _ = await scale_instance(
            root,
            f"memory-{kind}",
            sim,
            sim_url,
            *([biggest] if kind == other else [] for other in kinds),
        )
        try:
            await asyncio.sleep(5)
            assert inst.process.process is not None
            rss[kind] = rss_mib(inst.process.process.pid)
        finally:
            await inst.stop()
    results["memory_mib"] = {
        "count": biggest,
        "process_rss": rss,
        **{f"{kind}_increment": rss[kind] - rss["base"] for kind in kinds},
    }
    return results


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


async def run(quick: bool, only: str | None) -> dict[str, Any]:
    """Run the benchmarks; return the results."""
    counts = [10, 100, 1000] if quick else [10, 1000, 10000]
    per_round = 50 if quick else 200
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
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
                instance = Instance(root, "main")
                api = await instance.start()
                try:
                    entry_id = await flow(
                        api,
                        "callerid",
                        {"api_key": KEY, "advanced": {"base_url": sim_url}},
                    )
                    options = await api.request(
                        "POST",
                        "/api/config/config_entries/options/flow",
                        {"handler": entry_id},
                    )
                    await api.request(
                        "POST",
                        f"/api/config/config_entries/options/flow/{options['flow_id']}",
                        {"code_lifetime": 15, "cooldown": 0},
                    )
                    await wait_until_loaded(api, entry_id)
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
            if only in (None, "scale"):
                print("scale ...", flush=True)
                results["scale"] = await bench_scale(root, sim, sim_url, counts)
        if only is None:
            results["import_s"] = import_cost()
    except BaseException:
        print(f"failed; Home Assistant's logs are in {root}", file=sys.stderr)
        raise
    shutil.rmtree(root, ignore_errors=True)
    results["seconds"] = time.perf_counter() - started
    results["ratios"] = ratios(results, counts)
    return results


def ratios(results: dict[str, Any], counts: list[int]) -> dict[str, Any]:
    """Derive the headline ratios from what was measured."""
    out: dict[str, Any] = {}
    if "callbacks" in results:
        callbacks = results["callbacks"]
        for name in (
            "callback_throughput_ratio",
            "callback_throughput_ratio_vs_flip",
            "callback_p50_latency_ratio",
            "callback_p99_latency_ratio",
        ):
            out[name] = callbacks[name]
    if "validate" in results:
        out["validate_latency_ratio"] = results["validate"]["validate_latency_ratio"]
        out["validate_first_time_ratio"] = results["validate"]["first_time"]["ratio"]
    if "scale" in results:
        setup = results["scale"]["setup_s"]
        small, mid, big = (str(c) for c in counts)

        def per_number(count: str, kind: str = "ours") -> float:
            # Cost per number beyond the fixed cost of an entry (the smallest count).
            return (setup[count][kind]["median"] - setup[small][kind]["median"]) / (
                int(count) - int(small)
            )

        memory = results["scale"]["memory_mib"]
        out[f"setup_ratio_{big}"] = (
            setup[big]["ours"]["median"] / setup[big]["bare"]["median"]
        )
        out[f"memory_ratio_{big}"] = memory["ours_increment"] / memory["bare_increment"]
        # Against sensors that each have a device, as every number has one.
        out[f"setup_ratio_{big}_vs_devices"] = (
            setup[big]["ours"]["median"] / setup[big]["devices"]["median"]
        )
        out[f"memory_ratio_{big}_vs_devices"] = (
            memory["ours_increment"] / memory["devices_increment"]
        )
        out["scale_slope_ratio"] = per_number(big) / per_number(mid)
        # The same for the floors: how Home Assistant itself scales.
        for kind in ("bare", "devices"):
            out[f"scale_slope_ratio_{kind}"] = per_number(big, kind) / per_number(
                mid, kind
            )
        out["blocking_calls"] = results["scale"]["blocking_calls_ours"] + results.get(
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
        choices=["callbacks", "validate", "scale"],
        help="run one part (not written to --out)",
    )
    args = parser.parse_args()
    results = asyncio.run(run(args.quick, args.only))
    if args.out is None:
        args.out = PROJECT / "bench" / ("quick.json" if args.quick else "results.json")
    if args.only is None:
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
        + ("" if args.only else f"; full results in {args.out}")
    )


if __name__ == "__main__":
    main()
