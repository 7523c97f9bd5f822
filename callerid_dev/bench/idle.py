"""idle_timers: the timers the integration keeps on the event loop with nothing to do.

The bench helper walks every live timer on the loop (asyncio's scheduled handles) and
counts those whose callback leads to the integration's code: through bound methods,
partials, closures and Home Assistant's jobs, and those of a delayed save of a Store
file of the integration's (by its key). That the walk sees the integration's
timers at all is shown first, with a code pending (it expires on a timer). Then every
code is typed on the simulator's keypad, the loop is left alone for a while, and the
timers are counted: that is the key. As a check on the walk, the loop's timers of every
kind are listed with the entry loaded and again after it has been disabled: those that
went with the entry are kept in the details, whoever's code they call.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from ..gateway_sim import Simulator
from ..harness import HassClient
from .gateway import Entry, digits, keypad_all
from .instance import Instance, helper

MODULE = "custom_components.callerid"
# A delayed Store save calls only Home Assistant's code: its key says whose file it is.
STORAGE_PREFIX = "callerid."


async def timers(api: HassClient) -> dict[str, Any]:
    """Return the integration's live timers, and how many the loop holds in all."""
    return dict(
        await helper(api, "timers", {"module": MODULE, "storage": STORAGE_PREFIX})
    )


async def pending_codes(api: HassClient, entry: Entry) -> int:
    """Return how many of the entry's numbers have a code pending (their Status)."""
    states = await helper(api, "entry_states", {"config_entry_id": entry.entry_id})
    return int(states.get("sensor", {}).get("pending", 0))


async def disabled_difference(api: HassClient, entry: Entry) -> dict[str, Any]:
    """Return the loop's timers of every kind there while the entry is loaded, not disabled."""
    loaded = Counter((await timers(api))["scheduled"])
    await api.ws(
        [
            {
                "type": "config_entries/disable",
                "entry_id": entry.entry_id,
                "disabled_by": "user",
            }
        ]
    )
    await asyncio.sleep(2)
    disabled = Counter((await timers(api))["scheduled"])
    return {
        "loaded": loaded.total(),
        "disabled": disabled.total(),
        # Timers that went with the entry, whoever's code they call.
        "only_while_loaded": sorted((loaded - disabled).elements()),
    }


async def bench_idle(
    instance: Instance, sim: Simulator, sim_url: str, entry: Entry, wait: float
) -> dict[str, Any]:
    """Start a validation, complete every one, wait `wait` seconds; count the timers."""
    api = instance.api
    assert instance.session is not None
    sim.validated.get(entry.key, {}).pop(digits(entry.numbers[0]), None)
    await api.validate(entry.numbers[0])
    while_pending = await timers(api)
    typed = await keypad_all(instance.session, sim, sim_url)
    await asyncio.sleep(1)
    still_pending = await pending_codes(api, entry)
    # In a full run, longer than aiohttp keeps an idle connection open (15 s).
    await asyncio.sleep(wait)
    idle = await timers(api)
    return {
        "timers": len(idle["timers"]),
        "timer_examples": idle["timers"][:3],
        "timers_while_a_code_was_pending": len(while_pending["timers"]),
        "codes_typed": typed,
        "pending_after_typing": still_pending,
        "idle_seconds": wait + 1,
        "all_loop_timers": await disabled_difference(api, entry),
    }
