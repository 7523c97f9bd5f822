"""The one owner of per-number validation state, persisted across restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
import hashlib
import hmac
from pathlib import Path
import re
import secrets
from typing import Any, Final, NotRequired, TypedDict, cast

from phonenumbers import NumberParseException

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util, json as json_util

from .const import (
    DOMAIN,
    LOGGER,
    STORAGE_VERSION,
    ValidationStatus,
)
from .journal import Journal, JournalUnreadableError, JournalWriteError
from .phone import format_number, mask_number


@dataclass(frozen=True, slots=True)
class NumberRecord:
    """What is known about one number's validation."""

    number: str
    # In international notation, for people to read (device names, notifications).
    formatted: str
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
class KnownValidated:
    """seven.io's answer when it knows a number as validated already."""

    caller_id: int | None
    voice: bool


@dataclass(frozen=True, slots=True)
class CallbackResult:
    """seven.io's verdict as delivered to the callback."""

    success: bool
    voice: bool | None
    caller_id: int | None
    error: str | None


class _StoredRecord(TypedDict):
    number: str
    # Kept so that loading parses no numbers; absent in files of version 0.1.
    formatted: NotRequired[str]
    status: str
    requested_at: str
    completed_at: str | None
    voice: bool | None
    caller_id: int | None
    error: str | None
    token_hash: str | None


class _StoredData(TypedDict):
    numbers: list[_StoredRecord]
    # Set by each write, to tell whether it landed.
    mark: NotRequired[str]


@dataclass(slots=True)
class _NumberLock:
    """Lets one change of a number run at a time; dropped when nobody waits."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class StorageUnreadableError(Exception):
    """The entry's storage file exists but cannot be read; it is left as it is."""

    def __init__(self, path: str) -> None:
        """Name the file."""
        super().__init__(path)
        self.path = path


class StorageWriteError(HomeAssistantError):
    """A change could not be written; it was not applied either."""

    def __init__(self, path: str, record: NumberRecord | None = None) -> None:
        """Name the file; keep the record that was not saved, if it was one."""
        self.record = record
        super().__init__(
            translation_domain=DOMAIN,
            translation_key="storage_write_failed",
            translation_placeholders={"path": path},
        )


# Compared against when there is no token to compare against; matches no token.
_NO_TOKEN_HASH: Final = "-" * 64


def hash_token(token: str) -> str:
    """Return the stored form of a callback token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _token_hash(record: NumberRecord | None) -> str:
    """Return the hash a callback's token must match for `record`; one none matches."""
    if record is None or record.token_hash is None:
        return _NO_TOKEN_HASH
    return record.token_hash


type RecordListener = Callable[[NumberRecord], None]


class Followers[T]:
    """Listeners by number, for entities: no function to undo each, no list once empty.

    A pair of calls (`add`, `remove`) rather than a function to undo it: one object less
    per entity, which counts with thousands of numbers.
    """

    def __init__(self) -> None:
        """Start with none."""
        self._by_number: dict[str, list[Callable[[T], None]]] = {}

    def add(self, number: str, listener: Callable[[T], None]) -> None:
        """Call `listener` with what changes for `number`, until removed."""
        self._by_number.setdefault(number, []).append(listener)

    def remove(self, number: str, listener: Callable[[T], None]) -> None:
        """Stop calling `listener` for `number` (gone already if the number was dropped)."""
        listeners = self._by_number.get(number, [])
        if listener in listeners:
            listeners.remove(listener)
        if not listeners:
            self._by_number.pop(number, None)

    def drop(self, number: str) -> None:
        """Forget the listeners of `number`."""
        self._by_number.pop(number, None)

    def tell(self, number: str, value: T) -> None:
        """Call the listeners of `number` with `value`."""
        for listener in list(self._by_number.get(number, ())):
            listener(value)


def _storage(hass: HomeAssistant, entry_id: str) -> tuple[Store[_StoredData], Journal]:
    store: Store[_StoredData] = Store(
        hass,
        STORAGE_VERSION,
        f"{DOMAIN}.{entry_id}",
        private=True,
        # Written to a new file that replaces the old one once synced to disk: a
        # crash leaves one or the other, never half of each.
        atomic_writes=True,
        # A snapshot of every number: encoded off the event loop.
        serialize_in_event_loop=False,
    )
    return store, Journal(hass, f"{store.path}.journal")


class NumberStore:
    """Keeps every number of one config entry; each change is on disk before it is acknowledged.

    The storage file holds a snapshot; changes since are appended to a journal beside it.
    """

    def __init__(
        self, hass: HomeAssistant, entry_id: str, *, code_lifetime: timedelta
    ) -> None:
        """Prepare the store; call async_load before use."""
        self._hass = hass
        self._store, self._journal = _storage(hass, entry_id)
        self._code_lifetime = code_lifetime
        self._records: dict[str, NumberRecord] = {}
        # Pending validations on disk that wait for seven.io's answer to take effect.
        self._ahead: dict[str, NumberRecord] = {}
        # The token hash of each validation being asked for, from its start on.
        self._asking: dict[str, str] = {}
        self._new_listeners: list[RecordListener] = []
        self._change_listeners: list[RecordListener] = []
        self._completed_listeners: list[RecordListener] = []
        self._followers = Followers[NumberRecord]()
        self._expiry_timers: dict[str, CALLBACK_TYPE] = {}
        self._locks: dict[str, _NumberLock] = {}
        # Changes under way (a validation waits for seven.io): unloading waits for them.
        self._changes: set[asyncio.Task[object]] = set()
        self._closed = False

    async def async_load(self) -> None:
        """Read the stored numbers; refuse (and leave the file alone) if it cannot be read."""
        path = self._store.path
        data = await async_read_storage(self._hass, self._store)
        try:
            entries = await self._journal.async_read()
        except JournalUnreadableError as err:
            raise StorageUnreadableError(self._journal.path) from err
        try:
            for item in _typed(data["numbers"], list) if data is not None else ():
                record = _record_from_storage(item)
                self._records[record.number] = record
        except (KeyError, TypeError, ValueError) as err:
            raise StorageUnreadableError(path) from err
        try:
            for entry in entries:
                if isinstance(entry, dict) and "forget" in entry:
                    self._records.pop(_typed(entry["forget"], str), None)
                else:
                    record = _record_from_storage(entry)
                    self._records[record.number] = record
        except (KeyError, TypeError, ValueError) as err:
            raise StorageUnreadableError(self._journal.path) from err
        expired = False
        for record in list(self._records.values()):
            if record.status is ValidationStatus.PENDING:
                expired |= self._schedule_expiry(record)
        if (entries or expired) and not self._hass.is_stopping:
            await self._journal.async_fold(self._async_write_snapshot)

    async def async_finish_changes(self) -> None:
        """Return once no change is under way (a validation waits for seven.io).

        Called as the entry unloads, while it still tells what happens (events,
        notifications): what it loads next (a reload) must be what these changes left on
        disk. Home Assistant gives the entry's unload callbacks 10 seconds, which a
        validation waiting for seven.io can take; the entry's unload itself it does not
        limit.
        """
        while self._changes:
            await asyncio.wait(set(self._changes))

    async def async_shutdown(self) -> None:
        """Stop the expiry timers and close the journal, after any change still under way.

        Nothing of this store changes the disk after.
        """
        self._closed = True
        await self.async_finish_changes()
        for cancel in self._expiry_timers.values():
            cancel()
        self._expiry_timers.clear()
        await self._journal.async_close()

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
    def async_listen_completed(self, listener: RecordListener) -> CALLBACK_TYPE:
        """Call `listener` once a pending validation has ended and that is on disk.

        It ends validated or failed (seven.io's callback) or expired (no callback in time).
        """
        self._completed_listeners.append(listener)
        return lambda: self._completed_listeners.remove(listener)

    @callback
    def async_follow(self, number: str, listener: RecordListener) -> None:
        """Call `listener` whenever the record of `number` changes, until unfollowed."""
        self._followers.add(number, listener)

    @callback
    def async_unfollow(self, number: str, listener: RecordListener) -> None:
        """Stop calling `listener` for `number`."""
        self._followers.remove(number, listener)

    async def async_start(
        self,
        number: str,
        token: str,
        ring: Callable[[], Awaitable[KnownValidated | None]],
    ) -> NumberRecord:
        """Have seven.io validate `number` (`ring`), its callback proven by `token`.

        The pending validation is written to disk while `ring` asks seven.io, so that no
        crash after the phone rang can lose it, and takes effect once `ring` returns.
        When `ring` raises, what was known of the number before is written back and the
        error raised on; when it reports the number validated already, that is kept. If
        the pending validation could not be written, StorageWriteError is raised once
        `ring` returned (the phone rings all the same) and nothing changes.
        """

        hashed = hash_token(token)
        # From now on: a callback with this token that comes before seven.io's answer
        # has landed waits for it, rather than being refused.
        self._asking[number] = hashed
        return await self._async_change(
            number, lambda: self._async_start(number, hashed, ring)
        )

    async def _async_start(
        self,
        number: str,
        hashed: str,
        ring: Callable[[], Awaitable[KnownValidated | None]],
    ) -> NumberRecord:
        known = self._records.get(number)
        pending = NumberRecord(
            number=number,
            formatted=self._formatted(number),
            status=ValidationStatus.PENDING,
            requested_at=dt_util.utcnow(),
            # When the last validation ended stays known while the next one runs.
            completed_at=known.completed_at if known is not None else None,
            token_hash=hashed,
        )
        ahead = self._hass.async_create_task(
            self._async_write(
                pending, lambda: self._ahead.__setitem__(number, pending)
            ),
            f"{DOMAIN} pending validation",
            eager_start=True,
        )
        try:
            validated = await ring()
            await _async_settle(ahead)
            if validated is not None:
                return await self._async_keep_validated(number, validated)
            # Raises StorageWriteError if the pending validation is not on disk.
            await ahead
        except asyncio.CancelledError:
            # Home Assistant stops: seven.io may have rung, so the pending validation
            # stays on disk, as after a crash.
            ahead.add_done_callback(_retrieved)
            raise
        except BaseException:
            await self._async_take_back(number, ahead, known)
            raise
        finally:
            self._asking.pop(number, None)
        self._ahead.pop(number, None)
        self._put(pending)
        self._schedule_expiry(pending)
        return pending

    async def _async_take_back(
        self, number: str, ahead: asyncio.Task[None], known: NumberRecord | None
    ) -> None:
        """Write back what was known of `number`: its validation did not start."""
        await _async_settle(ahead)
        if number not in self._ahead:
            return  # the pending validation never reached the disk

        def apply() -> None:
            # Memory holds what was known all along.
            self._ahead.pop(number, None)

        try:
            await self._async_write(
                known if known is not None else {"forget": number}, apply
            )
        except StorageWriteError:
            self._ahead.pop(number, None)
            # A snapshot of memory replaces the journal, if the disk takes it. If not,
            # the number is pending after the next start until its code expires. (Not
            # while Home Assistant stops: Store would only promise the snapshot.)
            if not self._hass.is_stopping:
                await self._journal.async_fold(self._async_write_snapshot)

    async def _async_keep_validated(
        self, number: str, validated: KnownValidated
    ) -> NumberRecord:
        """Record that seven.io already knows `number` as validated."""
        now = dt_util.utcnow()
        record = NumberRecord(
            number=number,
            formatted=self._formatted(number),
            status=ValidationStatus.VALIDATED,
            requested_at=now,
            completed_at=now,
            voice=validated.voice,
            caller_id=validated.caller_id,
        )

        def apply() -> None:
            self._ahead.pop(number, None)
            self._put(record)

        await self._async_write(record, apply)
        return record

    async def async_complete(
        self, number: str, token: str, result: CallbackResult
    ) -> NumberRecord | None:
        """Apply a callback if `token` opens the live pending validation of `number`; else None."""
        hashed = hash_token(token)
        # Hashed and compared against both in every case: a refusal takes as long
        # whichever way it is wrong, and never waits behind a validation of the number
        # being asked for (which would tell that one is).
        opens_live = hmac.compare_digest(_token_hash(self._records.get(number)), hashed)
        opens_asked = hmac.compare_digest(
            self._asking.get(number, _NO_TOKEN_HASH), hashed
        )
        if not (opens_live or opens_asked):
            return None

        async def complete() -> NumberRecord | None:
            record = self._records.get(number)
            if (
                record is None
                or record.status is not ValidationStatus.PENDING
                or not hmac.compare_digest(_token_hash(record), hashed)
                or dt_util.utcnow() >= record.requested_at + self._code_lifetime
            ):
                return None
            completed = replace(
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
            await self._async_write(completed, lambda: self._put(completed))
            LOGGER.debug(
                "Validation of %s completed: %s", mask_number(number), completed.status
            )
            self._notify_completed(completed)
            return completed

        return await self._async_change(number, complete)

    async def async_forget(self, number: str) -> None:
        """Drop a number and any validation it has pending."""

        def apply() -> None:
            if self._records.pop(number, None) is not None:
                self._followers.drop(number)
                self._cancel_expiry(number)

        async def forget() -> None:
            if number in self._records:
                await self._async_write({"forget": number}, apply)

        await self._async_change(number, forget)

    async def _async_change[T](
        self, number: str, change: Callable[[], Awaitable[T]]
    ) -> T:
        """Run one change of `number`: after any other change of it, and to its end.

        A caller that is cancelled (a client hanging up) does not cut the change short:
        it is applied whole, or not at all when it cannot be written.
        """
        task = self._hass.async_create_task(
            self._async_locked(number, change), f"{DOMAIN} change", eager_start=True
        )
        if not task.done():
            self._changes.add(task)
            task.add_done_callback(self._changes.discard)
        return await asyncio.shield(task)

    async def _async_locked[T](
        self, number: str, change: Callable[[], Awaitable[T]]
    ) -> T:
        lock = self._locks.get(number)
        if lock is None:
            lock = self._locks[number] = _NumberLock()
        lock.users += 1
        try:
            async with lock.lock:
                return await change()
        finally:
            lock.users -= 1
            if not lock.users:
                del self._locks[number]

    def _formatted(self, number: str) -> str:
        known = self._records.get(number)
        return known.formatted if known is not None else format_number(number)

    def _put(self, record: NumberRecord) -> None:
        """Keep `record` and tell the listeners; only once it is on disk."""
        is_new = record.number not in self._records
        self._records[record.number] = record
        if record.status is not ValidationStatus.PENDING:
            self._cancel_expiry(record.number)
        if is_new:
            for new_listener in list(self._new_listeners):
                new_listener(record)
        for listener in list(self._change_listeners):
            listener(record)
        self._followers.tell(record.number, record)

    def _schedule_expiry(self, record: NumberRecord) -> bool:
        """Arrange for a pending record to expire; expire it now if it is due (True)."""
        self._cancel_expiry(record.number)
        if self._closed:
            return False  # the next load schedules it
        expires_at = record.requested_at + self._code_lifetime
        if expires_at <= dt_util.utcnow():
            self._put(self._expired(record))
            return True

        @callback
        def _expire_later(_: datetime) -> None:
            self._expiry_timers.pop(record.number, None)
            if self._closed:
                return  # the next load expires it
            self._hass.async_create_task(
                self._async_expire(record), f"{DOMAIN} save after expiry"
            )

        self._expiry_timers[record.number] = async_track_point_in_utc_time(
            self._hass, _expire_later, expires_at
        )
        return False

    async def _async_expire(self, record: NumberRecord) -> None:
        expired = self._expired(record)

        async def expire() -> None:
            if self._records.get(record.number) is not record:
                return  # changed meanwhile
            try:
                await self._async_write(expired, lambda: self._put(expired))
            except StorageWriteError:
                # Expiry follows from the time alone and is applied again at the next
                # load, so it need not wait for the disk.
                self._put(expired)
            self._notify_completed(expired)

        await self._async_change(record.number, expire)

    def _expired(self, record: NumberRecord) -> NumberRecord:
        LOGGER.debug("Validation code for %s expired", mask_number(record.number))
        return replace(
            record,
            status=ValidationStatus.EXPIRED,
            completed_at=record.requested_at + self._code_lifetime,
            token_hash=None,
        )

    def _cancel_expiry(self, number: str) -> None:
        if (cancel := self._expiry_timers.pop(number, None)) is not None:
            cancel()

    def _notify_completed(self, record: NumberRecord) -> None:
        for listener in list(self._completed_listeners):
            listener(record)

    async def _async_write(
        self, change: NumberRecord | dict[str, str], apply: Callable[[], None]
    ) -> None:
        """Write `change`, then `apply` it; fold the journal when it has grown too long."""
        entry = (
            _record_to_storage(change) if isinstance(change, NumberRecord) else change
        )
        try:
            await self._journal.async_append(entry, apply)
        except JournalWriteError as err:
            LOGGER.error("Could not write %s: %s", err, err.__cause__)
            raise StorageWriteError(
                self._journal.path,
                change if isinstance(change, NumberRecord) else None,
            ) from err
        await self._journal.async_fold_when_long(
            self._async_write_snapshot, len(self._records)
        )

    async def _async_write_snapshot(self) -> bool:
        """Write every number to the storage file; return whether it reached the disk."""
        # What is on disk: pending validations written ahead of seven.io's answer too.
        records = list((self._records | self._ahead).values())
        stored = await self._hass.async_add_executor_job(
            lambda: [_record_to_storage(record) for record in records]
        )
        return await async_save_checked(self._store, {"numbers": stored})


def _retrieved(task: asyncio.Task[None]) -> None:
    """Take what `task` raised: nobody else will."""
    if not task.cancelled():
        task.exception()


async def _async_settle(task: asyncio.Task[None]) -> None:
    """Wait for `task` to end, however it ends; what it raised is the caller's to tell."""
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()


async def async_save_checked(store: Store[Any], data: dict[str, Any]) -> bool:
    """Save `data` with a mark of this write; return whether the file reads back with it.

    Store logs a failed write instead of raising it: a journal is let go only once the
    snapshot that replaces it is on disk.
    """
    mark = secrets.token_hex(8)
    await store.async_save({**data, "mark": mark})
    written = await store.async_load()
    return written is not None and written.get("mark") == mark


async def async_remove_numbers(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the storage file and journal of a removed entry."""
    store, journal = _storage(hass, entry_id)
    await store.async_remove()
    await journal.async_remove()


async def async_read_storage[T: Mapping[str, object]](
    hass: HomeAssistant, store: Store[T]
) -> T | None:
    """Return what `store` holds; raise StorageUnreadableError if it cannot be read.

    Home Assistant would move an undecodable file aside and start empty, which loses
    what it held; setup is refused instead, and the file left as it is. The file is
    read once, here; Store only reads when there is no file (or a test stands in).
    """
    data = await hass.async_add_executor_job(_read_checked, store.path)
    if data is not _ABSENT:
        return cast("T", data)
    try:
        return await store.async_load()
    except (HomeAssistantError, NotImplementedError, LookupError, TypeError) as err:
        # Another version (Store cannot migrate it) or a shape it cannot take.
        raise StorageUnreadableError(store.path) from err


def _read_checked(path: str) -> object:
    """Return the data of the storage file, _ABSENT if there is none.

    Raise StorageUnreadableError if it is not one of ours: not JSON, or of a version
    Store would have to migrate.
    """
    if not Path(path).exists():
        return _ABSENT
    try:
        data = json_util.load_json(path)
    except HomeAssistantError as err:
        raise StorageUnreadableError(path) from err
    if not (
        isinstance(data, dict)
        and data.get("version") == STORAGE_VERSION
        and data.get("minor_version", 1) == 1
        and isinstance(data.get("data"), dict)
    ):
        raise StorageUnreadableError(path)
    return data["data"]


def _record_to_storage(record: NumberRecord) -> _StoredRecord:
    return _StoredRecord(
        number=record.number,
        formatted=record.formatted,
        status=record.status.value,
        requested_at=record.requested_at.isoformat(),
        completed_at=record.completed_at.isoformat() if record.completed_at else None,
        voice=record.voice,
        caller_id=record.caller_id,
        error=record.error,
        token_hash=record.token_hash,
    )


def _record_from_storage(stored: _StoredRecord) -> NumberRecord:
    """Read a record; raise ValueError, TypeError or KeyError on anything we never write."""
    number = _typed(stored["number"], str)
    if not _E164.fullmatch(number):
        raise ValueError("number")
    if (formatted := stored.get("formatted", _ABSENT)) is _ABSENT:
        try:
            formatted = format_number(number)
        except NumberParseException as err:
            raise ValueError("number") from err
    token_hash = _optional(stored["token_hash"], str)
    if token_hash is not None and not _TOKEN_HASH.fullmatch(token_hash):
        raise ValueError("token_hash")
    completed_at = _optional(stored["completed_at"], str)
    return NumberRecord(
        number=number,
        formatted=_typed(formatted, str),
        status=ValidationStatus(stored["status"]),
        requested_at=_aware(_typed(stored["requested_at"], str)),
        completed_at=_aware(completed_at) if completed_at else None,
        voice=_optional(stored["voice"], bool),
        caller_id=_optional(stored["caller_id"], int),
        error=_optional(stored["error"], str),
        token_hash=token_hash,
    )


_ABSENT: Final = object()
_E164: Final = re.compile(r"\+[1-9][0-9]{3,15}", re.ASCII)
_TOKEN_HASH: Final = re.compile(r"[0-9a-f]{64}", re.ASCII)


def _typed[T](value: object, kind: type[T]) -> T:
    # bool is an int to Python, not to us.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(kind.__name__)
    return value


def _optional[T](value: object, kind: type[T]) -> T | None:
    return None if value is None else _typed(value, kind)


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("time without zone")
    return moment
