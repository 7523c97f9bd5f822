"""An append-only file of JSON lines: a change is on disk before anyone is told it happened.

Appending one line costs the same with ten numbers or ten thousand; rewriting the
whole storage file on every change does not. The journal is folded into the storage
file (and removed) when the entry loads and whenever it outgrows the numbers it holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import os
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import json_bytes
from homeassistant.util.json import JSON_DECODE_EXCEPTIONS, json_loads

from .const import LOGGER


class JournalWriteError(Exception):
    """Appending to the journal failed; the change is kept for the next write."""


class JournalUnreadableError(Exception):
    """A line of the journal, other than a torn last one, is not JSON."""


class Journal:
    """Appends entries to one file; writers that arrive meanwhile share one write."""

    def __init__(self, hass: HomeAssistant, path: str) -> None:
        """Prepare; nothing is read or written yet."""
        self._hass = hass
        self.path = path
        self._lock = asyncio.Lock()
        self._queued: list[bytes] = []
        # Entries are numbered as they are queued; a write records the last one it covered.
        self._queued_count = 0
        self._written_count = 0
        self.lines = 0
        # Open from the first write until the journal is folded, removed or closed.
        self._fd: int | None = None
        self._keep_open = True

    async def async_read(self) -> list[Any]:
        """Return the entries on disk, oldest first."""
        entries = await self._hass.async_add_executor_job(_read, self.path)
        self.lines = len(entries)
        return entries

    async def async_append(self, entry: Any) -> None:
        """Return once `entry` is on disk; raise JournalWriteError if it could not be written."""
        self._queued.append(json_bytes(entry) + b"\n")
        self._queued_count += 1
        mine = self._queued_count
        async with self._lock:
            if self._written_count >= mine:
                return  # a write that started after ours was queued covered it
            # Let entries queued in the same turn of the loop join this write.
            await asyncio.sleep(0)
            lines, self._queued = self._queued, []
            covered = self._queued_count
            fd, self._fd = self._fd, None
            try:
                self._fd = await self._hass.async_add_executor_job(
                    _append, self.path, fd, b"".join(lines)
                )
            except OSError as err:
                # Nothing of this write stays on disk; the lines go out with the next one.
                self._queued[:0] = lines
                raise JournalWriteError(self.path) from err
            self._written_count = covered
            self.lines += len(lines)
            if not self._keep_open:
                await self._async_close()  # a late write after the entry unloaded

    async def async_fold(
        self,
        write_snapshot: Callable[[], Awaitable[bool]],
        *,
        longer_than: int = -1,
    ) -> None:
        """Remove the journal once `write_snapshot` reports a snapshot that holds it all.

        Only if it has more than `longer_than` lines by the time it is its turn. No entry
        is appended meanwhile, so the snapshot (taken inside `write_snapshot`) covers
        every line on disk; lines queued meanwhile are appended afterwards.
        """
        async with self._lock:
            if self.lines <= longer_than:
                return  # folded while this caller waited
            if not await write_snapshot():
                LOGGER.warning(
                    "Could not fold the journal %s into the storage file; keeping it",
                    self.path,
                )
                return
            await self._async_delete()

    async def async_remove(self) -> None:
        """Delete the file."""
        async with self._lock:
            await self._async_delete()

    async def async_close(self) -> None:
        """Close the file once the writes under way are done; a later write reopens it."""
        async with self._lock:
            self._keep_open = False
            await self._async_close()

    async def _async_close(self) -> None:
        if (fd := self._fd) is not None:
            self._fd = None
            await self._hass.async_add_executor_job(os.close, fd)

    async def _async_delete(self) -> None:
        await self._async_close()
        await self._hass.async_add_executor_job(_remove, self.path)
        self.lines = 0


def _read(path: str) -> list[Any]:
    try:
        content = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    lines = content.split(b"\n")
    # A last line without its newline was being written when the process stopped;
    # nobody was told of that change, so it is dropped.
    if torn := lines.pop():
        LOGGER.warning(
            "Dropping an incomplete last line (%d bytes) of %s", len(torn), path
        )
    try:
        return [json_loads(line) for line in lines]
    except JSON_DECODE_EXCEPTIONS as err:
        raise JournalUnreadableError(path) from err


def _append(path: str, fd: int | None, data: bytes) -> int:
    """Append `data` to the file open as `fd` (opened if None); return the descriptor."""
    if fd is None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
    except OSError:
        os.close(fd)
        raise
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError:
        # Leave no torn line behind: the next write reopens and appends whole lines.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
        os.close(fd)
        raise
    return fd


def _remove(path: str) -> None:
    Path(path).unlink(missing_ok=True)
