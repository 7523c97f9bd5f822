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

from .const import DOMAIN, JOURNAL_FOLD_MIN_LINES, LOGGER


class JournalWriteError(Exception):
    """Appending to the journal failed; nothing of the change is on disk."""


class JournalUnreadableError(Exception):
    """A line of the journal, other than a torn last one, is not JSON."""


class Journal:
    """Appends entries to one file; entries queued while a write is under way share the next."""

    def __init__(self, hass: HomeAssistant, path: str) -> None:
        """Prepare; nothing is read or written yet."""
        self._hass = hass
        self.path = path
        # One disk operation at a time: a write, a fold, a close or a removal.
        self._lock = asyncio.Lock()
        self._queued: list[tuple[bytes, Callable[[], None] | None]] = []
        # Settled when the queued entries are on disk, or could not be written.
        self._batch = self._new_batch()
        self._writer: asyncio.Task[None] | None = None
        self.lines = 0
        # Open from the first write until the journal is folded, removed or closed.
        self._fd: int | None = None
        self._keep_open = True

    async def async_read(self) -> list[Any]:
        """Return the entries on disk, oldest first."""
        entries = await self._hass.async_add_executor_job(_read, self.path)
        self.lines = len(entries)
        return entries

    async def async_append(
        self, entry: Any, on_written: Callable[[], None] | None = None
    ) -> None:
        """Return once `entry` is on disk and `on_written` (if any) has run.

        `on_written` runs as soon as the write lands, before anything else can look at
        the journal (a fold, say). If the entry cannot be written, none of it stays on
        disk, `on_written` is not called and JournalWriteError is raised. A caller that
        is cancelled does not take the write with it.
        """
        self._queued.append((json_bytes(entry) + b"\n", on_written))
        batch = self._batch
        if self._writer is None:
            # Starts with the next turn of the loop: entries queued meanwhile join it.
            self._writer = self._hass.async_create_task(
                self._async_write_queued(), f"{DOMAIN} journal write", eager_start=False
            )
        await asyncio.shield(batch)

    async def _async_write_queued(self) -> None:
        try:
            async with self._lock:
                while self._queued:
                    queued, self._queued = self._queued, []
                    batch, self._batch = self._batch, self._new_batch()
                    await self._async_write(queued, batch)
                    if not self._keep_open and not self._queued:
                        # A late write after the entry unloaded. Entries queued while
                        # the file closes are written by the next turn of this loop.
                        await self._async_close()
        except asyncio.CancelledError:
            if self._queued:
                # Home Assistant stops: these were never written.
                self._queued = []
                self._batch.set_exception(JournalWriteError(self.path))
                self._batch = self._new_batch()
            raise
        finally:
            self._writer = None

    def _new_batch(self) -> asyncio.Future[None]:
        batch: asyncio.Future[None] = self._hass.loop.create_future()
        # Retrieved here too, for when every caller of the batch went away.
        batch.add_done_callback(_retrieve)
        return batch

    async def _async_write(
        self,
        queued: list[tuple[bytes, Callable[[], None] | None]],
        batch: asyncio.Future[None],
    ) -> None:
        future = self._hass.async_add_executor_job(
            _append, self.path, self._fd, b"".join(line for line, _ in queued)
        )
        # _append hands the descriptor back, or closes it when it fails.
        self._fd = None
        try:
            self._fd = await asyncio.shield(future)
        except asyncio.CancelledError:
            # The write runs to its end in the executor; its descriptor is closed then.
            future.add_done_callback(_close_descriptor)
            batch.set_exception(JournalWriteError(self.path))
            raise
        except OSError as err:
            error = JournalWriteError(self.path)
            error.__cause__ = err
            batch.set_exception(error)
            return
        self.lines += len(queued)
        for _, on_written in queued:
            if on_written is None:
                continue
            try:
                on_written()
            except Exception:  # noqa: BLE001 - the entry is written; the others too
                LOGGER.exception("Error applying a change written to %s", self.path)
        batch.set_result(None)

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

    async def async_fold_when_long(
        self, write_snapshot: Callable[[], Awaitable[bool]], described: int
    ) -> None:
        """Fold once the journal has more lines than the snapshot holds entries.

        `described` is how many entries the snapshot holds (at least
        JOURNAL_FOLD_MIN_LINES count). Folding costs a snapshot of everything; once per
        as many changes keeps the cost of a change constant and the journal no longer
        than the snapshot. Not while Home Assistant stops: Store then holds writes back
        until its final write, and the journal must outlive the write it would wait for.
        """
        limit = max(JOURNAL_FOLD_MIN_LINES, described)
        if self.lines > limit and not self._hass.is_stopping:
            await self.async_fold(write_snapshot, longer_than=limit)

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


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _close_descriptor(future: asyncio.Future[int]) -> None:
    if not future.cancelled() and future.exception() is None:
        with contextlib.suppress(OSError):
            os.close(future.result())


def _read(path: str) -> list[Any]:
    try:
        content = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    except OSError as err:
        raise JournalUnreadableError(path) from err
    lines = content.split(b"\n")
    # A last line without its newline was being written when the process stopped;
    # nobody was told of that change, so it is dropped (and cut off before the next
    # write, see _append).
    if torn := lines.pop():
        LOGGER.warning(
            "Dropping an incomplete last line (%d bytes) of %s", len(torn), path
        )
    try:
        return [json_loads(line) for line in lines]
    except JSON_DECODE_EXCEPTIONS as err:
        raise JournalUnreadableError(path) from err


def _append(path: str, fd: int | None, data: bytes) -> int:
    """Append `data` to the file open as `fd` (opened if None) and sync it; return the descriptor."""
    if fd is None:
        folder = Path(path).parent
        folder.mkdir(parents=True, exist_ok=True)
        created = not Path(path).exists()
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            _cut_torn_tail(fd)
            if created:
                _sync_folder(folder)
        except OSError:
            os.close(fd)
            raise
    try:
        size = os.fstat(fd).st_size
    except OSError:
        os.close(fd)
        raise
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        # On disk, not only in the page cache, before anyone is told.
        os.fsync(fd)
    except OSError:
        # Leave no torn line behind: the next write reopens and appends whole lines.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
        os.close(fd)
        raise
    return fd


def _cut_torn_tail(fd: int) -> None:
    """Cut a last line without its newline, so the next line is not glued onto it."""
    size = end = os.fstat(fd).st_size
    keep = 0
    while end > 0:
        start = max(0, end - 4096)
        chunk = os.pread(fd, end - start, start)
        if (newline := chunk.rfind(b"\n")) >= 0:
            keep = start + newline + 1
            break
        end = start
    if keep < size:
        os.ftruncate(fd, keep)
        os.fsync(fd)


def _sync_folder(folder: Path) -> None:
    """Make a new file's name durable, not only its content."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: str) -> None:
    Path(path).unlink(missing_ok=True)
