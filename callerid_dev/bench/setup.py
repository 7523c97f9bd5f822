"""setup_ratio: an entry's setup (a reload) with N numbers, against bare entities.

The floor is a bench helper entry with as many devices as ours has, each with as many
entities, enabled and disabled by default, as the integration gave its numbers in this
very run (read from the entity registry, and checked on the floor once set up). Both
are reloaded in the same process, alternating. A full pass of the garbage collector
walks every object of the process and comes whenever enough have piled up: so every
round starts after one (untimed), the order turns each round, and the collector's time
inside each reload is kept beside it.
"""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

from ..harness import HassClient
from .instance import REGISTRY_SAVE_DELAY, Instance, flow, helper, timed_reload
from .stats import spread, turned

KINDS = ("ours", "floor")


def floor_entry(shape: dict[str, int]) -> dict[str, Any]:
    """Return the bench helper's config flow input for the floor of that shape."""
    return {
        "count": shape["devices"],
        "devices": True,
        "entities": shape["enabled"],
        "disabled": shape["entities"] - shape["enabled"],
    }


async def registry_shape(api: HassClient, entry_id: str) -> dict[str, int]:
    """Return an entry's devices and registry entries (all, and enabled) per device.

    Raises unless every device has the same entities: the floor copies that shape.
    """
    found = await helper(api, "registry", {"config_entry_id": entry_id})
    if len(found["shapes"]) != 1:
        raise RuntimeError(f"the devices of {entry_id} differ: {found['shapes']}")
    (shape,) = found["shapes"]
    entities, enabled = (int(n) for n in shape.split(","))
    return {"devices": found["devices"], "entities": entities, "enabled": enabled}


def collector_time(before: dict[str, Any], after: dict[str, Any]) -> tuple[float, int]:
    """Return the collector's seconds and full passes between two `cpu` answers."""
    old = before["gc"]
    seconds = sum(after["gc"][g][1] - old.get(g, [0, 0.0])[1] for g in after["gc"])
    full = after["gc"].get("2", [0, 0.0])[0] - old.get("2", [0, 0.0])[0]
    return seconds, int(full)


async def time_reloads(
    api: HassClient, entries: dict[str, str], rounds: int
) -> dict[str, Any]:
    """Reload each entry once a round, `rounds` rounds; the collector's share beside."""
    samples: dict[str, list[float]] = {kind: [] for kind in entries}
    collector: dict[str, list[float]] = {kind: [] for kind in entries}
    full = dict.fromkeys(entries, 0)
    for round_index in range(rounds):
        await helper(api, "collect")
        for kind in turned(list(entries), round_index):
            before = await helper(api, "cpu")
            samples[kind].append(await timed_reload(api, entries[kind]))
            seconds, passes = collector_time(before, await helper(api, "cpu"))
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
        for kind in entries
    }


async def bench_setup(
    instance: Instance, entry_id: str, numbers: int, rounds: int
) -> dict[str, Any]:
    """Make the floor of ours' shape beside it; time `rounds` rounds of reloads."""
    api = instance.api
    shape = await registry_shape(api, entry_id)
    floor = await flow(api, "callerid_bench", floor_entry(shape))
    if (found := await registry_shape(api, floor)) != shape:
        raise RuntimeError(f"the floor is {found}, not {shape}")
    await asyncio.sleep(REGISTRY_SAVE_DELAY)
    await instance.settle()
    reloads = await time_reloads(api, {"ours": entry_id, "floor": floor}, rounds)
    return {
        "ratio": reloads["ours"]["median"] / reloads["floor"]["median"],
        "numbers": numbers,
        "rounds": rounds,
        "shape": shape,
        "reload_s": reloads,
        "ratio_without_gc": reloads["ours"]["without_gc_median"]
        / reloads["floor"]["without_gc_median"],
    }
