"""validate_latency_ratio: callerid.validate end to end, against the same bare request.

The floor is the bench helper's action that makes the one gateway request
callerid.validate makes (POST validate_for_voice with the number and a callback URL)
and nothing else. Ours validates the entry's numbers again and again, each time as a
number the simulator has to call (it answers with a code): the action does its whole
job (the gateway, the number's record and file, the notification, the entity states)
but creates no entities. Pairs of calls, the order turning each pair; once with the
simulator answering after `delay` seconds, once at once (loopback).
"""

from __future__ import annotations

from typing import Any

from ..gateway_sim import Faults, Simulator
from ..harness import HassClient
from .gateway import Entry, digits
from .instance import timed
from .stats import ratio, spread, turned

KINDS = ("ours", "bare")


def bare_number(number: str) -> str:
    """Return another number of the same length: the simulator's call for ours stays."""
    return "+49176" + number.removeprefix("+49151")


async def bare_request(
    api: HassClient, sim_url: str, entry: Entry, number: str
) -> None:
    """Make, in hass, the gateway request callerid.validate makes, and nothing else."""
    await api.request(
        "POST",
        "/api/services/callerid_bench/request?return_response",
        {
            "url": f"{sim_url}/validate_for_voice",
            "number": bare_number(number),
            "callback": f"{api.url}/api/webhook/callerid-bench-noop?token=x",
            "key": entry.key,
        },
    )


async def pair(
    api: HassClient, sim: Simulator, sim_url: str, entry: Entry, index: int
) -> dict[str, float]:
    """Time one call of each kind for the entry's `index`-th number (cycling)."""
    number = entry.numbers[index % len(entry.numbers)]
    sim.validated.get(entry.key, {}).pop(digits(number), None)
    seconds: dict[str, float] = {}
    for kind in turned(KINDS, index):
        if kind == "ours":
            seconds[kind] = await timed(lambda: api.validate(number))
        else:
            seconds[kind] = await timed(
                lambda: bare_request(api, sim_url, entry, number)
            )
            sim.pending.pop(digits(bare_number(number)), None)
    return seconds


async def bench_validate(
    api: HassClient,
    sim: Simulator,
    sim_url: str,
    entry: Entry,
    *,
    pairs: int,
    delay: float,
) -> dict[str, Any]:
    """Measure `pairs` pairs with the gateway answering after `delay` seconds."""
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    sim.faults = Faults(delay=delay)
    try:
        for index in range(pairs):
            for kind, seconds in (await pair(api, sim, sim_url, entry, index)).items():
                samples[kind].append(seconds)
    finally:
        sim.faults = Faults()
    return {
        "ratio": ratio(samples["ours"], samples["bare"]),
        "gateway_delay_ms": delay * 1000,
        "pairs": pairs,
        "latency_ms": {kind: spread(samples[kind], 1000) for kind in KINDS},
    }
