"""callback_loop_cpu_ratio: the event loop's CPU per valid callback, against the flip webhook.

Each round every number of the entry is validated again (untimed: callerid.validate asks
the simulator for a code), then the round's batches run in turning order, one request
at a time: ours (seven.io's callback for each number, each turning a pending number
validated), the floor (the bench's flip webhook setting as many states per callback as
ours changed, each a change) and an empty batch (no request: what the probe itself and
the pause after a batch cost, taken off both). The loop's CPU is read in hass before and
after each batch; the ratio is of the medians per callback.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import statistics
from typing import Any

from yarl import URL

from ..gateway_sim import Simulator
from ..harness import HassClient
from .gateway import Entry, get, start_validation
from .instance import helper
from .seeding import storage_path
from .stats import spread, turned

KINDS = ("ours", "floor", "empty")
# After a batch, before the CPU is read: work a callback left behind (its write's
# completion) counts too.
PAUSE = 0.1


async def cpu_of(api: HassClient, urls: list[URL]) -> tuple[float, float]:
    """GET each URL in turn; return the loop's and the process's CPU seconds it took."""
    before = await helper(api, "cpu")
    for url in urls:
        await get(api._session, url)
    await asyncio.sleep(PAUSE)
    after = await helper(api, "cpu")
    return after["loop"] - before["loop"], after["process"] - before["process"]


async def validations(api: HassClient, sim: Simulator, entry: Entry) -> list[URL]:
    """Validate every number of the entry again (untimed); return their callbacks."""
    return [await start_validation(api, sim, entry, number) for number in entry.numbers]


def floor_urls(api: HassClient, urls: list[URL], states: int) -> list[URL]:
    """Return the flip-save webhook's URLs for the same callbacks (the same query)."""
    flip = URL(f"{api.url}/api/webhook/callerid-bench-flip-save")
    return [flip.with_query(url.query).update_query(states=str(states)) for url in urls]


async def check_validated(api: HassClient, entry: Entry) -> None:
    """Raise unless every number's Caller ID binary sensor is on."""
    states = await helper(api, "entry_states", {"config_entry_id": entry.entry_id})
    on = states.get("binary_sensor", {}).get("on", 0)
    if on != len(entry.numbers):
        raise RuntimeError(f"{on} of {len(entry.numbers)} numbers validated: {states}")


async def states_per_callback(api: HassClient, sim: Simulator, entry: Entry) -> float:
    """Deliver one untimed round of callbacks; return the state changes each brought."""
    urls = await validations(api, sim, entry)
    await helper(api, "state_changes", {"start": True})
    for url in urls:
        await get(api._session, url)
    await asyncio.sleep(PAUSE)
    counted = await helper(api, "state_changes")
    await check_validated(api, entry)
    return float(counted["changes"]) / len(urls)


async def bench_callback_cpu(
    api: HassClient, sim: Simulator, entry: Entry, rounds: int
) -> dict[str, Any]:
    """Measure `rounds` rounds; return the ratio and what it was made of."""
    per_callback = await states_per_callback(api, sim, entry)
    # The floor saves the entry's own file, as it is after a callback.
    config = await api.request("GET", "/api/config")
    source = storage_path(Path(config["config_dir"]), entry)
    await helper(api, "save_setup", {"path": str(source)})
    states = max(1, round(per_callback))
    loop: dict[str, list[float]] = {kind: [] for kind in KINDS}
    process: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for round_index in range(rounds):
        ours = await validations(api, sim, entry)
        await asyncio.sleep(PAUSE)  # their writes land before anything is measured
        urls = {"ours": ours, "floor": floor_urls(api, ours, states), "empty": []}
        for kind in turned(KINDS, round_index):
            seconds, total = await cpu_of(api, urls[kind])
            loop[kind].append(seconds)
            process[kind].append(total)
        await check_validated(api, entry)
    return summary(loop, process, len(entry.numbers)) | {
        "numbers": len(entry.numbers),
        "rounds": rounds,
        "state_changes_per_callback": per_callback,
        "floor_states_per_callback": states,
    }


def summary(
    loop: dict[str, list[float]], process: dict[str, list[float]], count: int
) -> dict[str, Any]:
    """Return the CPU per callback, net of the empty batch, and the ratio of the medians."""

    def net(sample: dict[str, list[float]], kind: str) -> list[float]:
        empty = statistics.median(sample["empty"])
        return [(seconds - empty) / count for seconds in sample[kind]]

    ours, floor = net(loop, "ours"), net(loop, "floor")
    return {
        "ratio": statistics.median(ours) / statistics.median(floor),
        "loop_cpu_ms_per_callback": {
            "ours": spread(ours, 1000),
            "floor": spread(floor, 1000),
        },
        "empty_batch_loop_cpu_ms": spread(loop["empty"], 1000),
        # Beside the loop: the executor's share (ours writes its file there).
        "process_cpu_ms_per_callback": {
            kind: statistics.median(net(process, kind)) * 1000
            for kind in ("ours", "floor")
        },
    }
