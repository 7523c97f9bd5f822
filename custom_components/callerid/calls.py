"""The calls an entry placed, kept until seven.io reports how each ended (a day at most).

Like the numbers, each change is appended to a journal and on disk before anyone is
told; the journal is folded into a storage file of its own when the entry loads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypedDict

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER, STORAGE_VERSION
from .journal import Journal, JournalUnreadableError, JournalWriteError
from .store import (
    Followers,
    StorageUnreadableError,
    StorageWriteError,
    async_read_storage,
    async_save_checked,
)

# seven.io reports a call's end at once; one not reported within a day never will be.
CALL_MEMORY = timedelta(days=1)


class CallOutcome(StrEnum):
    """How the last call from a number went, as a person reads it."""

    CALLING = "calling"
    ANSWERED = "answered"
    NOT_ANSWERED = "not_answered"
    FAILED = "failed"


# seven.io's `voice_status` words for a call nobody took; it does not list them all.
_NOT_TAKEN = frozenset(
    {"busy", "no-answer", "noanswer", "no_answer", "canceled", "cancelled", "rejected"}
)


def outcome_of(status: str, duration: int) -> CallOutcome:
    """Return what seven.io's status word and duration mean for a person."""
    if status == "completed":
        return CallOutcome.ANSWERED if duration > 0 else CallOutcome.NOT_ANSWERED
    if status in _NOT_TAKEN:
        return CallOutcome.NOT_ANSWERED
    return CallOutcome.FAILED


@dataclass(frozen=True, slots=True)
class PlacedCall:
    """One call placed through seven.io, and how it went."""

    call_id: str
    # Our own id of the call, sent to seven.io, which returns it with the status.
    foreign_id: str
    sender: str
    recipient: str
    placed_at: datetime
    outcome: CallOutcome = CallOutcome.CALLING


class _StoredCall(TypedDict):
    call_id: str
    foreign_id: str
    sender: str
    recipient: str
    placed_at: str
    outcome: str


type CallListener = Callable[[PlacedCall], None]


class CallStore:
    """Keeps the calls of one config entry; each change is on disk before it is told."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare; call async_load before use."""
        self._hass = hass
        self._store: Store[dict[str, Any]] = Store(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}.calls",
            private=True,
            # Replaced whole once synced: a crash leaves the old file or the new one.
            atomic_writes=True,
        )
        self._journal = Journal(hass, f"{self._store.path}.journal")
        self._calls: dict[str, PlacedCall] = {}
        # The last call from each number, also once the call itself is forgotten.
        self._last: dict[str, CallOutcome] = {}
        self._ending: set[str] = set()
        # The latest call from each number that this run has seen.
        self._latest: dict[str, PlacedCall] = {}
        self._followers = Followers[PlacedCall]()

    async def async_load(self) -> None:
        """Read the calls; refuse (and leave the files alone) if they cannot be read."""
        data = await async_read_storage(self._hass, self._store) or {}
        try:
            entries = await self._journal.async_read()
        except JournalUnreadableError as err:
            raise StorageUnreadableError(self._journal.path) from err
        try:
            self._last = {
                number: CallOutcome(outcome)
                for number, outcome in data.get("last", {}).items()
            }
            for item in [*data.get("calls", ()), *entries]:
                self._keep(_call_from_storage(item))
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise StorageUnreadableError(self._store.path) from err
        self._forget_old()
        if entries and not self._hass.is_stopping:
            await self._journal.async_fold(self._async_write_snapshot)

    async def async_shutdown(self) -> None:
        """Close the journal (the entry is unloading)."""
        await self._journal.async_close()

    @callback
    def async_follow(self, sender: str, listener: CallListener) -> None:
        """Call `listener` for each call from `sender` placed (at once) or ended (on disk)."""
        self._followers.add(sender, listener)

    @callback
    def async_unfollow(self, sender: str, listener: CallListener) -> None:
        """Stop calling `listener` for calls from `sender`."""
        self._followers.remove(sender, listener)

    def last_outcome(self, number: str) -> CallOutcome | None:
        """Return how the last call from `number` went, if it placed one."""
        return self._last.get(number)

    def placed_since(self, since: datetime) -> int:
        """Return how many calls were placed since `since`."""
        return sum(1 for call in self._calls.values() if call.placed_at >= since)

    def get(self, call_id: str) -> PlacedCall | None:
        """Return a call this entry placed in the last day."""
        call = self._calls.get(call_id)
        if call is None or call.placed_at < dt_util.utcnow() - CALL_MEMORY:
            return None
        return call

    async def async_add(self, call: PlacedCall) -> None:
        """Keep a call that was just placed; raise StorageWriteError if not on disk.

        The phone rings already, so the call is known at once, before its write lands:
        a call that ends straight away (busy) may be reported while it is written, and
        its end is written after it. If it cannot be written, it is still known until
        the next restart.
        """
        self._forget_old()
        self._apply(call)
        await self._async_write(call, apply=False)

    async def async_end(
        self, call_id: str, foreign_id: str | None, outcome: CallOutcome
    ) -> PlacedCall | None:
        """Record how a call still ringing ended; None if it is no such call."""
        call = self.get(call_id)
        if (
            call is None
            or call.outcome is not CallOutcome.CALLING
            or (foreign_id is not None and foreign_id != call.foreign_id)
            # A repeat that arrives while the first one is being written.
            or call_id in self._ending
        ):
            return None
        ended = replace(call, outcome=outcome)
        self._ending.add(call_id)
        try:
            # A client hanging up does not cut the change short: it is applied once
            # on disk, or not at all.
            await asyncio.shield(
                self._hass.async_create_task(
                    self._async_write(ended), f"{DOMAIN} call ended", eager_start=True
                )
            )
        finally:
            self._ending.discard(call_id)
        return ended

    def _apply(self, call: PlacedCall) -> None:
        self._keep(call)
        self._tell(call)

    def _keep(self, call: PlacedCall) -> None:
        self._calls[call.call_id] = call
        latest = self._latest.get(call.sender)
        if (
            latest is None
            or latest.call_id == call.call_id
            or call.placed_at >= latest.placed_at
        ):
            self._latest[call.sender] = call
            self._last[call.sender] = call.outcome

    def _tell(self, call: PlacedCall) -> None:
        self._followers.tell(call.sender, call)

    def _forget_old(self) -> None:
        oldest = dt_util.utcnow() - CALL_MEMORY
        for call_id in [
            c for c, call in self._calls.items() if call.placed_at < oldest
        ]:
            del self._calls[call_id]

    async def _async_write(self, call: PlacedCall, *, apply: bool = True) -> None:
        """Write `call`, then apply it (in memory, to the listeners) unless it was."""
        try:
            await self._journal.async_append(
                _call_to_storage(call), (lambda: self._apply(call)) if apply else None
            )
        except JournalWriteError as err:
            LOGGER.error("Could not write %s: %s", err, err.__cause__)
            raise StorageWriteError(self._journal.path) from err
        await self._journal.async_fold_when_long(
            self._async_write_snapshot, len(self._calls)
        )

    async def _async_write_snapshot(self) -> bool:
        """Write every call to the storage file; return whether it reached the disk."""
        return await async_save_checked(
            self._store,
            {
                "calls": [_call_to_storage(call) for call in self._calls.values()],
                "last": {
                    number: str(outcome) for number, outcome in self._last.items()
                },
            },
        )

    async def async_remove(self) -> None:
        """Delete the files (the entry is removed)."""
        await self._store.async_remove()
        await self._journal.async_remove()


def _call_to_storage(call: PlacedCall) -> _StoredCall:
    return _StoredCall(
        call_id=call.call_id,
        foreign_id=call.foreign_id,
        sender=call.sender,
        recipient=call.recipient,
        placed_at=call.placed_at.isoformat(),
        outcome=call.outcome.value,
    )


def _call_from_storage(stored: _StoredCall) -> PlacedCall:
    placed_at = datetime.fromisoformat(stored["placed_at"])
    if placed_at.tzinfo is None:
        raise ValueError("placed_at without a time zone")
    return PlacedCall(
        call_id=str(stored["call_id"]),
        foreign_id=str(stored["foreign_id"]),
        sender=str(stored["sender"]),
        recipient=str(stored["recipient"]),
        placed_at=placed_at,
        outcome=CallOutcome(stored["outcome"]),
    )
