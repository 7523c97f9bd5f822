"""Which scenarios share a hass process, and the sizes a run measures them at."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
import traceback
from typing import Any

from ..gateway_sim import Simulator
from .blackholed import bench_blackholed
from .callback_cpu import bench_callback_cpu
from .callback_latency import bench_callback_latency
from .gateway import Entry, numbers
from .idle import bench_idle
from .instance import Instance, blocking_calls
from .memory import bench_memory
from .seeding import Seeder, start_seeded
from .setup import bench_setup
from .validate import bench_validate

# The scenarios of each group, in the order they run.
GROUPS: dict[str, tuple[str, ...]] = {
    # setup_small while callback_cpu has left every number validated (validate leaves
    # them pending, without voice or caller ID): the state a user's numbers are in.
    "small": ("callback_cpu", "setup_small", "validate", "idle"),
    "large": ("callback_latency", "setup_large"),
    "memory": ("memory",),
    "blackholed": ("blackholed",),
}
SCENARIOS = tuple(name for names in GROUPS.values() for name in names)


@dataclass(frozen=True)
class Plan:
    """How many numbers, rounds and pairs a run measures with."""

    quick: bool
    small: int
    # The most numbers whose entities fit under Home Assistant's cap of 10,000 enabled
    # entities per config entry: six per number, two for the account.
    large: int
    callback_cpu_rounds: int
    callback_latency_pairs: int
    validate_pairs: int
    setup_rounds_small: int
    setup_rounds_large: int
    memory_rounds: int
    blackholed_numbers: int
    blackholed_pairs: int
    idle_seconds: float
    gateway_delay: float = 0.05


# Setup rounds a multiple of three: each of ours and the two floors goes first as often.
# At 15 rounds the small ratios moved by up to 0.28 (callback) and 0.07 (setup) from one
# run to the next; at 60 and 45 by 0.06 and 0.01.
FULL = Plan(False, 20, 1666, 60, 40, 40, 45, 9, 2, 100, 40, 20.0)
QUICK = Plan(True, 20, 200, 3, 5, 5, 3, 3, 1, 20, 4, 5.0)


@dataclass(frozen=True)
class Context:
    """What every group runs with."""

    plan: Plan
    root: Path
    sim: Simulator
    sim_url: str
    seeder: Seeder
    only: frozenset[str]


async def attempt(
    results: dict[str, Any], name: str, action: Callable[[], Awaitable[Any]]
) -> None:
    """Run one scenario into `results`; keep its error instead, and go on."""
    print(f"  {name} ...", flush=True)
    try:
        results[name] = await action()
    except Exception as err:  # noqa: BLE001 - what one scenario breaks, the others need not
        traceback.print_exc()
        results.setdefault("errors", {})[name] = repr(err)


type Scenarios = list[tuple[str, str, Callable[[], Awaitable[Any]]]]


async def run_scenarios(
    ctx: Context, instance: Instance, results: dict[str, Any], scenarios: Scenarios
) -> None:
    """Run the scenarios asked for (by the first name) into `results` (by the second)."""
    try:
        for wanted, name, action in scenarios:
            if wanted in ctx.only:
                await attempt(results, name, action)
    finally:
        results["blocking_calls"] = blocking_calls(instance.log())
        await instance.stop()


async def seeded_entry(
    ctx: Context, instance: Instance, key: str, wanted: list[str]
) -> Entry:
    """Start `instance` with one callerid entry holding `wanted`; stop it if that fails."""
    try:
        seeded = await start_seeded(instance, ctx.seeder, {key: wanted}, [])
    except BaseException:
        await instance.stop()
        raise
    return seeded.entries[key]


async def small(ctx: Context) -> dict[str, Any]:
    """Run the scenarios with an entry of `plan.small` numbers, in one process."""
    plan, sim, url = ctx.plan, ctx.sim, ctx.sim_url
    results: dict[str, Any] = {}
    instance = Instance(ctx.root, "small")
    entry = await seeded_entry(ctx, instance, "bench-small", numbers(0, plan.small))
    api = instance.api

    def validate(delay: float) -> Callable[[], Awaitable[Any]]:
        return lambda: bench_validate(
            api, sim, url, entry, pairs=plan.validate_pairs, delay=delay
        )

    scenarios: Scenarios = [
        (
            "callback_cpu",
            "callback_cpu",
            lambda: bench_callback_cpu(api, sim, entry, plan.callback_cpu_rounds),
        ),
        (
            "setup_small",
            "setup_small",
            lambda: bench_setup(instance, entry, plan.small, plan.setup_rounds_small),
        ),
        ("validate", "validate", validate(plan.gateway_delay)),
        ("validate", "validate_loopback", validate(0.0)),
        (
            "idle",
            "idle",
            lambda: bench_idle(instance, sim, url, entry, plan.idle_seconds),
        ),
    ]
    await run_scenarios(ctx, instance, results, scenarios)
    return results


async def large(ctx: Context) -> dict[str, Any]:
    """Run the scenarios with an entry of `plan.large` numbers, in one process."""
    plan = ctx.plan
    results: dict[str, Any] = {}
    instance = Instance(ctx.root, "large")
    entry = await seeded_entry(
        ctx, instance, "bench-large", numbers(10_000_000, plan.large)
    )
    scenarios: Scenarios = [
        (
            "callback_latency",
            "callback_latency",
            lambda: bench_callback_latency(
                instance, ctx.sim, entry, plan.callback_latency_pairs
            ),
        ),
        (
            "setup_large",
            "setup_large",
            lambda: bench_setup(instance, entry, plan.large, plan.setup_rounds_large),
        ),
    ]
    await run_scenarios(ctx, instance, results, scenarios)
    return results


async def memory(ctx: Context) -> dict[str, Any]:
    """Measure resident memory, one process per kind."""
    results: dict[str, Any] = {}
    await attempt(
        results,
        "memory",
        lambda: bench_memory(
            ctx.root, ctx.seeder, ctx.plan.large, ctx.plan.memory_rounds
        ),
    )
    if "memory" in results:
        results["blocking_calls"] = results["memory"].pop("blocking_calls")
    return results


async def blackholed(ctx: Context) -> dict[str, Any]:
    """Measure setup with seven.io black-holed, in a process of its own."""
    results: dict[str, Any] = {}
    plan = ctx.plan
    await attempt(
        results,
        "blackholed",
        lambda: bench_blackholed(
            ctx.root, ctx.seeder, plan.blackholed_numbers, plan.blackholed_pairs
        ),
    )
    if "blackholed" in results:
        results["blocking_calls"] = results["blackholed"].pop("blocking_calls")
    return results


RUNNERS: dict[str, Callable[[Context], Awaitable[dict[str, Any]]]] = {
    "small": small,
    "large": large,
    "memory": memory,
    "blackholed": blackholed,
}
