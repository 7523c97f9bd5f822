"""setup_ratio: an entry's setup (a reload) with N numbers, against the floor entry.

The floor is a bench helper entry with as many devices as ours has, each with as many
entities, enabled and disabled by default, as the integration gave its numbers in this
very run (read from the entity registry, and checked on the floor once set up), of the
same shape: translated names, device classes and options, category, the same state
attributes with values of the same types, the same device fields (checked too), each
device a row (a subentry) of the entry with its entities added on it, as each number
is. Its setup loads a copy of the entry's own storage file with Store, as ours loads
its own. A second floor without rows (the floor before numbers were rows) is measured
beside it. All are reloaded in the same process, alternating. A full pass of the
garbage collector walks every object of the process and comes whenever enough have
piled up: so every reload starts after one (untimed), and a pass inside it is the
reload's own; the order turns each round, and the collector's time inside each reload
is kept beside it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import shutil
import statistics
from typing import Any

from ..harness import HassClient
from .gateway import Entry
from .instance import REGISTRY_SAVE_DELAY, Instance, flow, helper, timed_reload
from .seeding import storage_path
from .stats import spread, turned

# A key in a folder of its own: Home Assistant's cache of the files it found at start-up
# takes no part, so a file copied there later is read from disk, as ours is on a reload.
FLOOR_STORAGE = "callerid_bench/setup.{entry_id}"


def floor_entry(shape: dict[str, int], *, rows: bool = True) -> dict[str, Any]:
    """Return the bench helper's config flow input for the floor of that shape.

    Each device is a row (a subentry) with its entities on it, as each number is.
    """
    return {
        "count": shape["devices"],
        "devices": True,
        "rows": rows,
        "entities": shape["enabled"],
        "disabled": shape["entities"] - shape["enabled"],
    }


def copy_storage(config_dir: Path, entry: Entry) -> dict[str, Any]:
    """Copy the entry's storage file for the floor; return the floor's entry data for it."""
    source = storage_path(config_dir, entry)
    key = FLOOR_STORAGE.format(entry_id=entry.entry_id)
    target = config_dir / ".storage" / key
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    file = json.loads(target.read_text())
    return {
        "storage": key,
        "storage_version": int(file["version"]),
        "storage_minor_version": int(file.get("minor_version", 1)),
    }


async def check_same_shape(api: HassClient, ours: str, floor: str) -> dict[str, Any]:
    """Raise unless the floor's entities and devices have the shape of ours; return it."""
    found = {
        kind: await helper(api, "entity_shapes", {"config_entry_id": entry_id})
        for kind, entry_id in (("ours", ours), ("floor", floor))
    }
    if found["ours"] != found["floor"]:
        raise RuntimeError(f"the floor's entities differ from ours: {found}")
    return found["ours"]


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
    """Reload each entry once a round, `rounds` rounds, each after a full collection."""
    samples: dict[str, list[float]] = {kind: [] for kind in entries}
    collector: dict[str, list[float]] = {kind: [] for kind in entries}
    full = dict.fromkeys(entries, 0)
    for round_index in range(rounds):
        for kind in turned(list(entries), round_index):
            await helper(api, "collect")
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
    instance: Instance, entry: Entry, numbers: int, rounds: int
) -> dict[str, Any]:
    """Make the floor of ours' shape beside it; time `rounds` rounds of reloads."""
    api, entry_id = instance.api, entry.entry_id
    shape = await registry_shape(api, entry_id)
    storage = copy_storage(instance.config_dir, entry)
    floors = {
        kind: await flow(api, "callerid_bench", floor_entry(shape, rows=rows) | storage)
        for kind, rows in (("floor", True), ("floor_without_rows", False))
    }
    for floor in floors.values():
        if (found := await registry_shape(api, floor)) != shape:
            raise RuntimeError(f"the floor is {found}, not {shape}")
    entity_shapes = await check_same_shape(api, entry_id, floors["floor"])
    await asyncio.sleep(REGISTRY_SAVE_DELAY)
    await instance.settle()
    reloads = await time_reloads(api, {"ours": entry_id} | floors, rounds)
    return {
        "ratio": reloads["ours"]["median"] / reloads["floor"]["median"],
        # Against the floor of issue 15, before numbers were rows (issue 18).
        "ratio_against_floor_without_rows": reloads["ours"]["median"]
        / reloads["floor_without_rows"]["median"],
        "numbers": numbers,
        "rounds": rounds,
        "shape": shape,
        "entity_shapes": entity_shapes,
        "storage_bytes": (instance.config_dir / ".storage" / storage["storage"])
        .stat()
        .st_size,
        "reload_s": reloads,
        "ratio_without_gc": reloads["ours"]["without_gc_median"]
        / reloads["floor"]["without_gc_median"],
    }
