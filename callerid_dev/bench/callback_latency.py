"""callback_latency_ratio: a callback's latency with thousands of numbers, against Store.

The integration writes its whole file with Home Assistant's Store on every change, so
the floor is the bench's save webhook: it saves the integration's own file (taken from
disk after one untimed callback) with Store(atomic_writes=True).async_save and answers.
Pairs of single requests, the order turning each pair: ours (seven.io's callback for a
number validated again just before, untimed) and the floor with the same query. After
each answer the bench watches the file until it has been replaced: the time until then
is kept beside the latency, and no write is still landing when the next request goes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import shutil
import time
from typing import Any

from yarl import URL

from ..gateway_sim import Simulator
from .gateway import Entry, get, start_validation
from .instance import Instance, helper
from .seeding import storage_path
from .stats import ratio, spread, turned

KINDS = ("ours", "floor")
PAUSE = 0.05
# How long a write may take to land after the answer before it is given up on.
LAND_LIMIT = 2.0

type Signature = tuple[int, int, int] | None


def signature(path: Path) -> Signature:
    """Return what changes when a file is replaced: inode, modification time, size."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


async def landed(path: Path, before: Signature, started: float) -> float | None:
    """Wait until `path` is no longer as `before`; return the seconds since `started`."""
    deadline = time.perf_counter() + LAND_LIMIT
    while signature(path) == before:
        if time.perf_counter() > deadline:
            return None
        await asyncio.sleep(0.002)
    return time.perf_counter() - started


async def request(
    instance: Instance, url: URL, path: Path
) -> tuple[float, float | None]:
    """GET `url`; return its latency and the time until `path` was replaced."""
    assert instance.session is not None
    before = signature(path)
    started = time.perf_counter()
    latency = await get(instance.session, url)
    return latency, await landed(path, before, started)


async def set_up_floor(instance: Instance, sim: Simulator, entry: Entry) -> Path:
    """Deliver one callback (untimed); give the floor the file ours has then; warm it up."""
    ours = storage_path(instance.config_dir, entry)
    before = signature(ours)
    url = await start_validation(instance.api, sim, entry, entry.numbers[0])
    await landed(ours, before, time.perf_counter())
    await request(instance, url, ours)
    source = instance.config_dir / "bench-save-source.json"
    shutil.copyfile(ours, source)
    floor = Path(
        (await helper(instance.api, "save_setup", {"path": str(source)}))["path"]
    )
    await request(instance, save_url(instance, url), floor)
    return floor


def save_url(instance: Instance, url: URL) -> URL:
    """Return the save webhook's URL with the query of a callback."""
    return URL(f"{instance.api.url}/api/webhook/callerid-bench-save").with_query(
        url.query
    )


async def bench_callback_latency(
    instance: Instance, sim: Simulator, entry: Entry, pairs: int
) -> dict[str, Any]:
    """Measure `pairs` pairs; return the ratio of the median latencies and the details."""
    paths = {
        "ours": storage_path(instance.config_dir, entry),
        "floor": await set_up_floor(instance, sim, entry),
    }
    latency: dict[str, list[float]] = {kind: [] for kind in KINDS}
    written: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for pair in range(pairs):
        number = entry.numbers[1 + pair % (len(entry.numbers) - 1)]
        before = signature(paths["ours"])
        url = await start_validation(instance.api, sim, entry, number)
        await landed(paths["ours"], before, time.perf_counter())
        urls = {"ours": url, "floor": save_url(instance, url)}
        for kind in turned(KINDS, pair):
            await asyncio.sleep(PAUSE)
            seconds, until = await request(instance, urls[kind], paths[kind])
            latency[kind].append(seconds)
            if until is not None:
                written[kind].append(until)
    return {
        "ratio": ratio(latency["ours"], latency["floor"]),
        "numbers": len(entry.numbers),
        "pairs": pairs,
        "latency_ms": {kind: spread(latency[kind], 1000) for kind in KINDS},
        # Until the file had been replaced; writes not seen within LAND_LIMIT left out.
        "file_replaced_ms": {
            kind: spread(written[kind], 1000) if written[kind] else None
            for kind in KINDS
        },
        "file_replaced_seen": {kind: len(written[kind]) for kind in KINDS},
        "file_bytes": {kind: paths[kind].stat().st_size for kind in KINDS},
    }
