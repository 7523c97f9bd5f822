"""The one owner of per-number validation state, persisted across restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
import hashlib
import hmac
from typing import TypedDict

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util, json as json_util

from .const import DOMAIN, LOGGER, STORAGE_VERSION, ValidationStatus
from .phone import mask_number


@dataclass(frozen=True, slots=True)
class NumberRecord:
    """What is known about one number's validation."""

    number: str
    status: ValidationStatus
    requested_at: datetime
    completed_at: datetime | None = None
    voice: bool | None = None
    caller_id: int | None = None
    error: str | None = None
    # Only a hash of the pending callback token is kept, so the file cannot forge a callback.
    token_hash: str | None = None

    @property
    def validated(self) -> bool:
        """Return whether seven.io accepts the number as caller ID."""
        return self.status is ValidationStatus.VALIDATED


@dataclass(frozen=True, slots=True)
class CallbackResult:
    """seven.io's verdict as delivered to the callback."""

    success: bool
    voice: bool | None
    caller_id: int | None
    error: str | None


class _StoredRecord(TypedDict):
    number: str
    status: str
    requested_at: str
    completed_at: str | None
    voice: bool | None
    caller_id: int | None
    error: str | None
    token_hash: str | None


class _StoredData(TypedDict):
    numbers: list[_StoredRecord]


class StorageUnreadableError(Exception):
    """The entry's storage file exists but cannot be read; it is left as it is."""

    def __init__(self, path: str) -> None:
        """Name the file."""
        super().__init__(path)
        self.path = path


def hash_token(token: str) -> str:
    """Return the stored form of a callback token."""
    return hashlib.sha256(token.encode()).hexdigest()


type RecordListener = Callable[[NumberRecord], None]


class NumberStore:
    """Keeps every number of one config entry; each change is saved before it is acknowledged."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, *, code_lifetime: timedelta
    ) -> None:
        """Prepare the store; call async_load before use."""
        self._hass = hass
        self._store: Store[_StoredData] = Store(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}",
            private=True,
            # Written to a temporary file and renamed into place, like Home Assistant's
            # own registries; no fsync on every callback (see the benchmark notes).
            serialize_in_event_loop=False,
        )
        self._save_lock = asyncio.Lock()
        # Changes are numbered; a save records the last number it covered.
        self._changes = 0
        self._saved_changes = 0
        self._code_lifetime = code_lifetime
        self._records: dict[str, NumberRecord] = {}
        # Each record's stored form, kept beside it so a save converts nothing.
        self._stored: dict[str, _StoredRecord] = {}
        self._new_listeners: list[RecordListener] = []
        self._change_listeners: list[RecordListener] = []
        self._listeners: dict[str, list[RecordListener]] = {}
        self._expiry_timers: dict[str, CALLBACK_TYPE] = {}

    async def async_load(self) -> None:
        """Read the stored numbers; refuse (and leave the file alone) if it cannot be read."""
        path = self._store.path
        # Home Assistant would move an undecodable file aside and start empty, which
        # loses every pending validation; refuse to start instead and leave it be.
        await self._hass.async_add_executor_job(_check_readable, path)
        if (data := await self._store.async_load()) is None:
            return
        try:
            records = [_record_from_storage(item) for item in data["numbers"]]
        except (KeyError, TypeError, ValueError) as err:
            raise StorageUnreadableError(path) from err
        self._records = {record.number: record for record in records}
        self._stored = {record.number: _record_to_storage(record) for record in records}
        expired = False
        for record in records:
            if record.status is ValidationStatus.PENDING:
                expired |= self._schedule_expiry(record)
        if expired:
            await self._async_save()

    @callback
    def async_shutdown(self) -> None:
        """Stop the expiry timers (the entry is unloading)."""
        for cancel in self._expiry_timers.values():
            cancel()
        self._expiry_timers.clear()

    @property
    def records(self) -> dict[str, NumberRecord]:
        """Return a snapshot of all numbers by E.164 number."""
        return dict(self._records)

    def get(self, number: str) -> NumberRecord | None:
        """Return the record of a number, if it is known."""
        return self._records.get(number)

    @callback
    def async_listen_new(self, listener: RecordListener) -> CALLBACK_TYPE:
        """Call `listener` for every number that is added from now on."""
        self._new_listeners.append(listener)
        return lambda: self._new_listeners.remove(listener)

    @callback
    def async_listen_changes(self, listener: RecordListener) -> CALLBACK_TYPE:
        """Call `listener` whenever any record changes."""
        self._change_listeners.append(listener)
        return lambda: self._change_listeners.remove(listener)

    @callback
    def async_listen(self, number: str, listener: RecordListener) -> CALLBACK_TYPE:
        """Call `listener` whenever the record of `number` changes."""
        listeners = self._listeners.setdefault(number, [])
        listeners.append(listener)
        return lambda: listeners.remove(listener)

    async def async_start(self, number: str, token: str) -> NumberRecord:
        """Mark `number` pending behind `token`, replacing (and voiding) any earlier one."""
        record = NumberRecord(
            number=number,
            status=ValidationStatus.PENDING,
            requested_at=dt_util.utcnow(),
            token_hash=hash_token(token),
        )
        self._put(record)
        self._schedule_expiry(record)
        await self._async_save()
        return record

    async def async_set_validated(
        self, number: str, *, caller_id: int | None, voice: bool
    ) -> NumberRecord:
        """Record that seven.io already knows `number` as validated."""
        now = dt_util.utcnow()
        record = NumberRecord(
            number=number,
            status=ValidationStatus.VALIDATED,
            requested_at=now,
            completed_at=now,
            voice=voice,
            caller_id=caller_id,
        )
        self._put(record)
        await self._async_save()
        return record

    async def async_complete(
        self, number: str, token: str, result: CallbackResult
    ) -> NumberRecord | None:
        """Apply a callback if `token` opens the live pending validation of `number`; else None."""
        record = self._records.get(number)
        if (
            record is None
            or record.status is not ValidationStatus.PENDING
            or record.token_hash is None
            or not hmac.compare_digest(record.token_hash, hash_token(token))
            or dt_util.utcnow() >= record.requested_at + self._code_lifetime
        ):
            return None
        record = replace(
            record,
            status=ValidationStatus.VALIDATED
            if result.success
            else ValidationStatus.FAILED,
            completed_at=dt_util.utcnow(),
            voice=result.voice,
            caller_id=result.caller_id,
            error=result.error,
            token_hash=None,
        )
        self._put(record)
        await self._async_save()
        LOGGER.debug(
            "Validation of %s completed: %s", mask_number(number), record.status
        )
        return record

    async def async_forget(self, number: str) -> None:
        """Drop a number and any validation it has pending."""
        if self._records.pop(number, None) is not None:
            del self._stored[number]
            self._listeners.pop(number, None)
            self._cancel_expiry(number)
            await self._async_save()

    def _put(self, record: NumberRecord) -> None:
        """Keep `record` and tell the listeners; the caller saves."""
        is_new = record.number not in self._records
        self._records[record.number] = record
        self._stored[record.number] = _record_to_storage(record)
        if record.status is not ValidationStatus.PENDING:
            self._cancel_expiry(record.number)
        if is_new:
            for new_listener in list(self._new_listeners):
                new_listener(record)
        for listener in [
            *self._change_listeners,
            *self._listeners.get(record.number, ()),
        ]:
            listener(record)

    def _schedule_expiry(self, record: NumberRecord) -> bool:
        """Arrange for a pending record to expire; expire it now if it is due (True)."""
        self._cancel_expiry(record.number)
        expires_at = record.requested_at + self._code_lifetime
        if expires_at <= dt_util.utcnow():
            self._expire(record)
            return True

        @callback
        def _expire_later(_: datetime) -> None:
            self._expiry_timers.pop(record.number, None)
            if self._records.get(record.number) is record:
                self._expire(record)
                self._hass.async_create_task(
                    self._async_save(), f"{DOMAIN} save after expiry"
                )

        self._expiry_timers[record.number] = async_track_point_in_utc_time(
            self._hass, _expire_later, expires_at
        )
        return False

    def _expire(self, record: NumberRecord) -> None:
        LOGGER.debug("Validation code for %s expired", mask_number(record.number))
        self._put(
            replace(
                record,
                status=ValidationStatus.EXPIRED,
                completed_at=record.requested_at + self._code_lifetime,
                token_hash=None,
            )
        )

    def _cancel_expiry(self, number: str) -> None:
        if (cancel := self._expiry_timers.pop(number, None)) is not None:
            cancel()

    async def _async_save(self) -> None:
        """Write every change made so far; callers waiting meanwhile share one write."""
        self._changes += 1
        mine = self._changes
        async with self._save_lock:
            if self._saved_changes >= mine:
                return  # a write that started after our change covered it
            # Let changes made in the same turn of the loop join this write.
            await asyncio.sleep(0)
            covered = self._changes
            await self._store.async_save({"numbers": list(self._stored.values())})
            self._saved_changes = covered


async def async_remove_numbers(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the storage file of a removed entry."""
    await Store[_StoredData](
        hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}"
    ).async_remove()


def _check_readable(path: str) -> None:
    """Raise StorageUnreadableError if the file exists and is not JSON."""
    try:
        json_util.load_json(path)
    except HomeAssistantError as err:
        raise StorageUnreadableError(path) from err


def _record_to_storage(record: NumberRecord) -> _StoredRecord:
    return _StoredRecord(
        number=record.number,
        status=record.status.value,
        requested_at=record.requested_at.isoformat(),
        completed_at=record.completed_at.isoformat() if record.completed_at else None,
        voice=record.voice,
        caller_id=record.caller_id,
        error=record.error,
        token_hash=record.token_hash,
    )


def _record_from_storage(stored: _StoredRecord) -> NumberRecord:
    completed_at = stored["completed_at"]
    return NumberRecord(
        number=stored["number"],
        status=ValidationStatus(stored["status"]),
        requested_at=datetime.fromisoformat(stored["requested_at"]),
        completed_at=datetime.fromisoformat(completed_at) if completed_at else None,
        voice=stored["voice"],
        caller_id=stored["caller_id"],
        error=stored["error"],
        token_hash=stored["token_hash"],
    )
