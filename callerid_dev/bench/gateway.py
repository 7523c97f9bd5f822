"""The simulated seven.io gateway as the scenarios use it: accounts, validations, callbacks.

The simulator runs in the bench's own process, so its accounts and pending calls are
read and set directly; Home Assistant only ever sees its HTTP side.
"""

from __future__ import annotations

from dataclasses import dataclass
import time

import aiohttp
from yarl import URL

from ..gateway_sim import Simulator, formatted
from ..harness import HassClient
from .instance import flow, wait_until_loaded

DEMO_KEY = "demo-key"
# Codes valid for 15 minutes; the same number may be called again at once.
OPTIONS = {"code_lifetime": 15, "cooldown": 0}


@dataclass(frozen=True)
class Entry:
    """A callerid config entry of the bench: its id, its seven.io key, its numbers."""

    entry_id: str
    key: str
    numbers: list[str]

    def storage_name(self) -> str:
        """Return the name of its storage file in `.storage`."""
        return f"callerid.{self.entry_id}"


def numbers(first: int, count: int) -> list[str]:
    """Return `count` German mobile numbers from `first` on (E.164)."""
    return [f"+49151{first + i:08d}" for i in range(count)]


def digits(number: str) -> str:
    """Return a number as seven.io keeps it: international digits without the plus."""
    return number.removeprefix("+")


async def add_entry(
    api: HassClient, sim: Simulator, sim_url: str, key: str, wanted: list[str]
) -> Entry:
    """Create a callerid entry on the simulator with an account of its own (see OPTIONS)."""
    sim.keys[key] = sim.keys[DEMO_KEY]
    entry_id = await flow(
        api, "callerid", {"api_key": key, "advanced": {"base_url": sim_url}}
    )
    options = await api.request(
        "POST", "/api/config/config_entries/options/flow", {"handler": entry_id}
    )
    result = await api.request(
        "POST", f"/api/config/config_entries/options/flow/{options['flow_id']}", OPTIONS
    )
    if result.get("type") != "create_entry":
        raise RuntimeError(f"the options flow ended with {result}")
    await wait_until_loaded(api, entry_id)
    return Entry(entry_id, key, wanted)


def callback_url(sim: Simulator, entry: Entry, number: str, callback: str) -> URL:
    """Return the URL seven.io calls when `number` typed its code right.

    The simulator counts the number as validated on the entry's account from then on,
    as it does when its keypad is used.
    """
    sender = digits(number)
    caller_id = sim.next_id
    sim.next_id += 1
    sim.validated.setdefault(entry.key, {})[sender] = caller_id
    return URL(callback, encoded=True).extend_query(
        {
            "id": str(caller_id),
            "sender": sender,
            "formatted_output": formatted(sender),
            "success": "1",
            "error": "",
            "voice": "1",
        }
    )


async def start_validation(
    api: HassClient, sim: Simulator, entry: Entry, number: str
) -> URL:
    """Validate `number` again with callerid.validate (a code is asked for); return its callback.

    The simulator is made to forget the number, so it calls it with a new code; the bench
    delivers the callback itself (the call is taken off the simulator's phone lines).
    """
    sender = digits(number)
    sim.validated.get(entry.key, {}).pop(sender, None)
    await api.validate(number)
    pending = sim.pending.pop(sender, None)
    if pending is None or pending.callback is None:
        raise RuntimeError(f"callerid.validate asked the gateway for no code: {number}")
    return callback_url(sim, entry, number, pending.callback)


async def get(session: aiohttp.ClientSession, url: URL) -> float:
    """GET `url` (as seven.io calls a callback); return the seconds until the answer."""
    started = time.perf_counter()
    async with session.get(url) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{url.path}: HTTP {response.status}")
    return time.perf_counter() - started


async def keypad_all(
    session: aiohttp.ClientSession, sim: Simulator, sim_url: str
) -> int:
    """Type the code of every call the simulator has in progress; return how many."""
    base = sim_url.removesuffix("/api")
    pending = list(sim.pending.items())
    for sender, call in pending:
        async with session.post(
            f"{base}/_sim/keypad", json={"number": f"+{sender}", "digits": call.code}
        ) as response:
            response.raise_for_status()
    return len(pending)
