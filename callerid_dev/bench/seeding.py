"""Give callerid entries their numbers before anything is measured.

One number is validated through the public surfaces (callerid.validate, the simulator's
keypad and its callback), and the storage file the integration then writes is the
template: with hass stopped, the entry's file is written again with every number a
copy of that record, as after a restart. Should the integration not hold them all
once started again, its own file is put back and every number is validated with
callerid.validate, one by one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import copy
from dataclasses import dataclass
import hashlib
import json
from pathlib import Path
from typing import Any

from ..gateway_sim import Simulator, formatted
from ..harness import HassClient
from .gateway import Entry, add_entry, digits, keypad_all
from .instance import REGISTRY_SAVE_DELAY, Instance, flow, helper

FIRST_CALLER_ID = 100_000


def builtin_record() -> dict[str, Any]:
    """Return a validated number as the integration stores it, for when no file says so."""
    now = "2026-11-27T12:00:00+00:00"
    return {
        "number": "",
        "formatted": "",
        "status": "validated",
        "requested_at": now,
        "completed_at": now,
        "voice": True,
        "caller_id": FIRST_CALLER_ID,
        "error": None,
        "token_hash": None,
    }


@dataclass(frozen=True)
class Template:
    """A storage file of the integration and the record of one validated number in it."""

    file: dict[str, Any]
    record: dict[str, Any]
    # "integration": both as the integration wrote them; "built-in": not found there.
    source: str


def storage_path(config_dir: Path, entry: Entry) -> Path:
    """Return the path of an entry's storage file."""
    return config_dir / ".storage" / entry.storage_name()


def read_template(config_dir: Path, entry: Entry) -> Template:
    """Return the template from the file the integration wrote for `entry`'s first number."""
    path = storage_path(config_dir, entry)
    file: dict[str, Any] = (
        json.loads(path.read_text())
        if path.exists()
        else {"version": 1, "minor_version": 1, "data": {}}
    )
    stored = file.get("data", {}).get("numbers", [])
    for record in stored if isinstance(stored, list) else []:
        if record.get("number") == entry.numbers[0] and record.get("caller_id"):
            return Template(file, dict(record), "integration")
    return Template(file, builtin_record(), "built-in")


def seeded_file(template: Template, entry: Entry) -> dict[str, Any]:
    """Return the storage file of `entry` with all its numbers validated."""
    file = copy.deepcopy(template.file)
    file["key"] = entry.storage_name()
    data = file.setdefault("data", {})
    # The template may be another entry's file: its numbers were validated on this
    # entry's account (the config flow's unique id), else the entry disowns them.
    data["account"] = hashlib.sha256(entry.key.encode()).hexdigest()
    data["numbers"] = [
        template.record
        | {
            "number": number,
            "formatted": formatted(digits(number)),
            "caller_id": FIRST_CALLER_ID + index,
        }
        for index, number in enumerate(entry.numbers)
    ]
    return file


class Seeder:
    """Seeds entries from one template, taken in the first instance that needs it."""

    def __init__(self, sim: Simulator, sim_url: str) -> None:
        """Use the simulator at `sim_url` (in this process)."""
        self.sim = sim
        self.sim_url = sim_url
        self.template: Template | None = None
        self.fallbacks: list[str] = []
        self._originals: dict[Path, bytes | None] = {}

    async def prime(self, instance: Instance, entry: Entry) -> None:
        """Validate the entry's first number the way a person does (keypad, callback)."""
        assert instance.session is not None
        self.sim.validated.get(entry.key, {}).pop(digits(entry.numbers[0]), None)
        # The entry named: the instance may have several (blackholed has two).
        await instance.api.validate(entry.numbers[0], entry.entry_id)
        if not await keypad_all(instance.session, self.sim, self.sim_url):
            raise RuntimeError("callerid.validate asked the gateway for no code")

    def write(self, config_dir: Path, entry: Entry) -> None:
        """Write the entry's storage file (hass stopped); the simulator knows the numbers."""
        if self.template is None:
            raise RuntimeError("no template yet")
        path = storage_path(config_dir, entry)
        self._originals[path] = path.read_bytes() if path.exists() else None
        file = seeded_file(self.template, entry)
        path.write_text(json.dumps(file))
        accounts = self.sim.validated.setdefault(entry.key, {})
        for record in file["data"]["numbers"]:
            accounts[digits(record["number"])] = record["caller_id"]

    def restore(self, config_dir: Path, entry: Entry) -> None:
        """Put back the file the integration had written before `write` (hass stopped)."""
        path = storage_path(config_dir, entry)
        original = self._originals.pop(path, None)
        if original is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(original)

    async def holds(self, api: HassClient, entry: Entry) -> bool:
        """Return whether the entry is loaded with a device for each of its numbers."""
        entries = await api.request("GET", "/api/config/config_entries/entry")
        state = next(e["state"] for e in entries if e["entry_id"] == entry.entry_id)
        found = await helper(api, "registry", {"config_entry_id": entry.entry_id})
        if state == "loaded" and found["devices"] >= len(entry.numbers):
            return True
        self.fallbacks.append(
            f"{entry.key}: {state} with {found['devices']} of {len(entry.numbers)}"
            " devices from the file"
        )
        return False


async def validate_all(
    api: HassClient, sim: Simulator, sim_url: str, entry: Entry
) -> None:
    """Validate every number of `entry` with callerid.validate (and the keypad if asked).

    The simulator already counts the numbers as validated (see Seeder.write): it says
    so at once, as seven.io does for a caller ID saved before.
    """
    session = api._session
    for number in entry.numbers:
        await api.validate(number)
        await keypad_all(session, sim, sim_url)
    found = await helper(api, "registry", {"config_entry_id": entry.entry_id})
    if found["devices"] < len(entry.numbers):
        raise RuntimeError(f"{entry.key}: {found['devices']} devices after validating")


@dataclass(frozen=True)
class Seeded:
    """The entries of a seeded instance, and its floor entries, in the order asked for."""

    entries: dict[str, Entry]
    floors: list[str]


async def start_seeded(
    instance: Instance,
    seeder: Seeder,
    wanted: dict[str, list[str]],
    floors: list[dict[str, Any]],
    while_stopped: Callable[[Path, dict[str, Entry]], None] | None = None,
) -> Seeded:
    """Start hass with a callerid entry per key in `wanted` holding those numbers.

    `floors` are bench helper entries made beside them. hass is restarted once, so every
    entry is measured as loaded from disk; `while_stopped` may change the config then.
    """
    api = await instance.start()
    entries = {
        key: await add_entry(api, seeder.sim, seeder.sim_url, key, numbers)
        for key, numbers in wanted.items()
    }
    floor_ids = [await flow(api, "callerid_bench", data) for data in floors]
    first = next(iter(entries.values()), None)
    if seeder.template is None and first is not None:
        await seeder.prime(instance, first)
    await instance.stop()
    if seeder.template is None and first is not None:
        seeder.template = read_template(instance.config_dir, first)
    for entry in entries.values():
        seeder.write(instance.config_dir, entry)
    if while_stopped is not None:
        while_stopped(instance.config_dir, entries)
    api = await instance.start()
    await instance.settle()
    # The registries save what start-up changed 10 s later: not while measuring.
    await asyncio.sleep(REGISTRY_SAVE_DELAY)
    missing = [
        entry for entry in entries.values() if not await seeder.holds(api, entry)
    ]
    if missing:
        await fall_back(instance, seeder, missing)
    return Seeded(entries, floor_ids)


async def fall_back(instance: Instance, seeder: Seeder, entries: list[Entry]) -> None:
    """Restart with the integration's own files back; validate the numbers one by one."""
    await instance.stop()
    for entry in entries:
        seeder.restore(instance.config_dir, entry)
    api = await instance.start()
    await instance.settle()
    for entry in entries:
        await validate_all(api, seeder.sim, seeder.sim_url, entry)
