"""setup_blackholed_ratio: an entry's setup with seven.io black-holed, against it answering.

Two entries with the same numbers' count in one hass: one talks to the simulator, the
other to a listener on 127.0.0.1 that accepts connections and never answers (put into
the entry while hass is stopped: the config flow checks the key, and would not get
past it). Setup must not wait on the gateway. Reloads alternate, the order turning
each pair; each setup of the black-holed entry must have reached the listener, and both
entries must end up loaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
import json
from pathlib import Path
from typing import Any

from .gateway import Entry, numbers
from .instance import Instance, blocking_calls, timed_reload
from .seeding import Seeder, start_seeded
from .stats import ratio, spread, turned

KINDS = ("answering", "blackholed")
FIRST_NUMBER = 20_000_000
# What the last setup left running (the answered key check) is done by then.
PAUSE = 0.3


@contextlib.asynccontextmanager
async def black_hole() -> AsyncIterator[tuple[str, list[int]]]:
    """Run a gateway that accepts connections and never answers.

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


def point_at(url: str) -> Callable[[Path, dict[str, Entry]], None]:
    """Return a `while_stopped` step that points the black-holed entry at `url`."""

    def change(config_dir: Path, entries: dict[str, Entry]) -> None:
        path = config_dir / ".storage" / "core.config_entries"
        stored = json.loads(path.read_text())
        for entry in stored["data"]["entries"]:
            if entry["entry_id"] == entries["bench-blackholed"].entry_id:
                entry["data"]["base_url"] = url
        path.write_text(json.dumps(stored))

    return change


async def reloads(
    instance: Instance, ids: dict[str, str], pairs: int
) -> dict[str, list[float]]:
    """Reload the two entries `pairs` times each, alternating, the order turning."""
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for pair in range(pairs):
        for kind in turned(KINDS, pair):
            await asyncio.sleep(PAUSE)
            samples[kind].append(await timed_reload(instance.api, ids[kind]))
    entries = await instance.api.request("GET", "/api/config/config_entries/entry")
    states = {e["entry_id"]: e["state"] for e in entries}
    if any(states[ids[kind]] != "loaded" for kind in KINDS):
        raise RuntimeError(f"not loaded: {states}")
    return samples


async def bench_blackholed(
    root: Path, seeder: Seeder, count: int, pairs: int
) -> dict[str, Any]:
    """Measure `pairs` pairs of reloads of entries with `count` numbers each."""
    wanted = {
        f"bench-{kind}": numbers(FIRST_NUMBER + index * 1_000_000, count)
        for index, kind in enumerate(KINDS)
    }
    async with black_hole() as (hole_url, accepted):
        instance = Instance(root, "blackholed")
        try:
            seeded = await start_seeded(
                instance, seeder, wanted, [], point_at(hole_url)
            )
            ids = {kind: seeded.entries[f"bench-{kind}"].entry_id for kind in KINDS}
            before = accepted[0]
            samples = await reloads(instance, ids, pairs)
            reached = accepted[0] - before
        finally:
            log = instance.log()
            await instance.stop()
    if reached < pairs:
        raise RuntimeError(f"{reached} connections to the black hole in {pairs} setups")
    return {
        "ratio": ratio(samples["blackholed"], samples["answering"]),
        "numbers": count,
        "pairs": pairs,
        "setup_s": {kind: spread(sample) for kind, sample in samples.items()},
        "black_hole_connections": reached,
        "blocking_calls": blocking_calls(log),
    }
