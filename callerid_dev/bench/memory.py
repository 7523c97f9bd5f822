"""memory_ratio: resident memory for N numbers, against the setup floor's entities.

One hass process per kind, each the same configuration but for its one entry: none
(the base), ours with N numbers, or the floor (a bench helper entry of the shape the
integration gave those numbers, as for setup_ratio). Each is measured after a restart,
once its start-up is done. A round is base, then ours and the floor in turning order;
the ratio is of the medians of each kind's increment over its round's base.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import statistics
from typing import Any

from .gateway import numbers
from .instance import Instance, blocking_calls, helper, rss_mib
from .seeding import Seeder, start_seeded
from .setup import floor_entry, registry_shape
from .stats import spread, turned

FIRST_NUMBER = 40_000_000
# After start-up is done: what is still being freed or cached settles.
QUIET = 5.0


async def measure(
    root: Path, seeder: Seeder, name: str, count: int, shape: dict[str, int] | None
) -> dict[str, Any]:
    """Start one process, `memory-KIND-ROUND`: base, ours (`count` numbers) or floor."""
    instance = Instance(root, name)
    kind = name.split("-")[1]
    wanted = {f"bench-{name}": numbers(FIRST_NUMBER, count)} if kind == "ours" else {}
    floors = [floor_entry(shape)] if kind == "floor" and shape else []
    result: dict[str, Any] = {}
    try:
        seeded = await start_seeded(instance, seeder, wanted, floors)
        await asyncio.sleep(QUIET)
        result["rss_mib"] = rss_mib(instance.pid())
        result["gc_objects"] = (await helper(instance.api, "heap"))["gc_objects"]
        for entry in seeded.entries.values():
            result["shape"] = await registry_shape(instance.api, entry.entry_id)
    finally:
        result["blocking_calls"] = blocking_calls(instance.log())
        await instance.stop()
    return result


async def bench_memory(
    root: Path, seeder: Seeder, count: int, rounds: int
) -> dict[str, Any]:
    """Measure `rounds` rounds of processes; return the ratio of the median increments."""
    runs: dict[str, list[dict[str, Any]]] = {"base": [], "ours": [], "floor": []}
    shape: dict[str, int] | None = None
    for round_index in range(rounds):
        for kind in ["base", *turned(("ours", "floor"), round_index)]:
            run = await measure(
                root, seeder, f"memory-{kind}-{round_index}", count, shape
            )
            runs[kind].append(run)
            shape = shape or run.get("shape")
            if kind == "ours" and run["shape"] != shape:
                raise RuntimeError(f"ours is {run['shape']} now, {shape} before")
    increments = {
        kind: [
            run["rss_mib"] - base["rss_mib"]
            for run, base in zip(runs[kind], runs["base"], strict=True)
        ]
        for kind in ("ours", "floor")
    }
    return {
        "ratio": statistics.median(increments["ours"])
        / statistics.median(increments["floor"]),
        "numbers": count,
        "rounds": rounds,
        "shape": shape,
        "increment_mib": {kind: spread(values) for kind, values in increments.items()},
        "process_rss_mib": {k: [r["rss_mib"] for r in v] for k, v in runs.items()},
        "gc_objects": {k: [r["gc_objects"] for r in v] for k, v in runs.items()},
        "blocking_calls": {
            count: sum(r["blocking_calls"][count] for v in runs.values() for r in v)
            for count in ("ours", "all")
        },
    }
