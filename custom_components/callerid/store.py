"""The one owner of per-number validation state, persisted across restarts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
import hashlib
import hmac
from typing import TypedDict

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN, STORAGE_VERSION, ValidationStatus


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


def hash_token(token: str) -> str:
    """Return the stored form of a callback token."""
    return hashlib.sha256(token.encode()).hexdigest()


class NumberStore:
    """Keeps every number of one config entry, saves each change before it is acknowledged."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the store; call async_load before use."""
        self._store: Store[_StoredData] = Store(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}",
            private=True,
            atomic_writes=True,
        )
        self._records: dict[str, NumberRecord] = {}
        self._new_listeners: list[Callable[[NumberRecord], None]] = []
        self._listeners: dict[str, list[Callable[[NumberRecord], None]]] = {}

    async def async_load(self) -> None:
        """Read the stored numbers."""
        if (data := await self._store.async_load()) is None:
            return
        self._records = {
            stored["number"]: _record_from_storage(stored) for stored in data["numbers"]
        }

    @property
    def records(self) -> dict[str, NumberRecord]:
        """Return a snapshot of all numbers by E.164 number."""
        return dict(self._records)

    def get(self, number: str) -> NumberRecord | None:
        """Return the record of a number, if it is known."""
        return self._records.get(number)

    @callback
    def async_listen_new(
        self, listener: Callable[[NumberRecord], None]
    ) -> CALLBACK_TYPE:
        """Call `listener` for every number that is added from now on."""
        self._new_listeners.append(listener)
        return lambda: self._new_listeners.remove(listener)

    @callback
    def async_listen(
        self, number: str, listener: Callable[[NumberRecord], None]
    ) -> CALLBACK_TYPE:
        """Call `listener` whenever the record of `number` changes."""
        listeners = self._listeners.setdefault(number, [])
        listeners.append(listener)
        return lambda: listeners.remove(listener)

    async def async_start(self, number: str, token: str) -> NumberRecord:
        """Mark `number` pending behind `token`, replacing any earlier validation."""
        return await self._async_put(
            NumberRecord(
                number=number,
                status=ValidationStatus.PENDING,
                requested_at=dt_util.utcnow(),
                token_hash=hash_token(token),
            )
        )

    async def async_set_validated(
        self, number: str, *, caller_id: int | None, voice: bool
    ) -> NumberRecord:
        """Record that seven.io already knows `number` as validated."""
        now = dt_util.utcnow()
        return await self._async_put(
            NumberRecord(
                number=number,
                status=ValidationStatus.VALIDATED,
                requested_at=now,
                completed_at=now,
                voice=voice,
                caller_id=caller_id,
            )
        )

    async def async_complete(
        self, number: str, token: str, result: CallbackResult
    ) -> NumberRecord | None:
        """Apply a callback if `token` opens the pending validation of `number`; else None."""
        record = self._records.get(number)
        if (
            record is None
            or record.status is not ValidationStatus.PENDING
            or record.token_hash is None
            or not hmac.compare_digest(record.token_hash, hash_token(token))
        ):
            return None
        return await self._async_put(
            replace(
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
        )

    async def async_forget(self, number: str) -> None:
        """Drop a number and any validation it has pending."""
        if self._records.pop(number, None) is not None:
            self._listeners.pop(number, None)
            await self._async_save()

    async def async_remove(self) -> None:
        """Delete the storage file."""
        await self._store.async_remove()

    async def _async_put(self, record: NumberRecord) -> NumberRecord:
        is_new = record.number not in self._records
        self._records[record.number] = record
        if is_new:
            for new_listener in list(self._new_listeners):
                new_listener(record)
        for listener in list(self._listeners.get(record.number, ())):
            listener(record)
        # Callers acknowledge only after this returns, so what they confirm survives a crash.
        await self._async_save()
        return record

    async def _async_save(self) -> None:
        await self._store.async_save(
            {"numbers": [_record_to_storage(r) for r in self._records.values()]}
        )


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
