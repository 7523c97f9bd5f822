"""One file per entry, through Home Assistant's Store: its numbers, calls and attempts.

Saves are atomic and checked to have landed. Files of version 1.1 (snapshots with
journals beside them) are merged once and removed once the merged file is on disk.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
import re
from typing import Any, Final

from phonenumbers import NumberParseException

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError, HomeAssistantError
from homeassistant.helpers.storage import Store
from homeassistant.util.json import json_loads

from .const import DOMAIN, LOGGER, ValidationStatus
from .models import CallOutcome, NumberRecord, PlacedCall
from .phone import format_number

STORAGE_VERSION: Final = 1
STORAGE_MINOR_VERSION: Final = 2
_E164: Final = re.compile(r"\+[1-9][0-9]{3,15}", re.ASCII)
_TOKEN_HASH: Final = re.compile(r"[0-9a-f]{64}", re.ASCII)


class StorageUnreadableError(ConfigEntryError):
    """The entry's file exists but cannot be read; it is left as it is."""

    def __init__(self, path: str) -> None:
        """Name the file."""
        super().__init__(
            translation_domain=DOMAIN,
            translation_key="storage_unreadable",
            translation_placeholders={"path": path},
        )


class StorageWriteError(HomeAssistantError):
    """A change could not be written; it was not applied either."""

    def __init__(self, path: str) -> None:
        """Name the file."""
        super().__init__(
            translation_domain=DOMAIN,
            translation_key="storage_write_failed",
            translation_placeholders={"path": path},
        )


@dataclass(slots=True)
class StoredState:
    """What the file holds."""

    numbers: dict[str, NumberRecord]
    calls: dict[str, PlacedCall]
    last_call: dict[str, CallOutcome]  # by number, also once the call is forgotten
    attempts: list[datetime]  # voice requests that may have rung, the last hour
    test_call_to: dict[str, str]  # by number: whom its Test call button calls
    account: str | None = None  # the entry's unique id the numbers were validated under


class CallerIdStore(Store[dict[str, Any]]):
    """The storage file of one config entry."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Name the file after the entry."""
        super().__init__(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}",
            private=True,
            atomic_writes=True,
            minor_version=STORAGE_MINOR_VERSION,
            # Records are frozen: they are encoded off the event loop.
            serialize_in_event_loop=False,
        )
        self._save_lock = asyncio.Lock()
        self._landed = False
        self._migrated = False
        # Version 1.1's calls file, and its numbers' and calls' journals.
        self._old_calls: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{self.key}.calls", private=True
        )
        self._journals = [
            Path(f"{path}.journal") for path in (self.path, self._old_calls.path)
        ]

    async def async_load_state(self) -> StoredState:
        """Read the file (merging the files of version 1.1 once); refuse a damaged one.

        Store moves an undecodable file aside and starts empty: until a file replaces it,
        the copy is reported instead.
        """
        try:
            data = await self.async_load()
            if data is None and await self._async_left_from_1_1():
                data = await self._async_migrate_func(1, 1, {})
            state = state_from_storage(data or {})
        except (HomeAssistantError, NotImplementedError, NumberParseException) as err:
            # A newer version, one Store cannot migrate, or a number of no country (in
            # a file of version 0.1, which has no formatted numbers).
            raise StorageUnreadableError(self.path) from err
        except (LookupError, TypeError, ValueError, AttributeError) as err:
            # A shape we never write, or an undecodable journal of version 1.1.
            raise StorageUnreadableError(self.path) from err
        folder = Path(self.path).parent
        if data is None and (
            corrupt := await self.hass.async_add_executor_job(
                lambda: sorted(folder.glob(f"{self.key}.corrupt.*"))
            )
        ):
            raise StorageUnreadableError(str(corrupt[-1]))
        if self._migrated:
            await self.async_save_state(state)
            await self._async_remove_old()
        return state

    async def async_save_state(self, state: StoredState) -> None:
        """Write `state`; raise StorageWriteError unless it is on disk.

        Refused while Home Assistant stops: Store would hold it for a final write.
        """
        async with self._save_lock:
            if self.hass.is_stopping:
                raise StorageWriteError(self.path)
            self._landed = False
            await self.async_save(
                {
                    "numbers": list(state.numbers.values()),
                    "calls": list(state.calls.values()),
                    "last_call": dict(state.last_call),
                    "attempts": list(state.attempts),
                    "test_call_to": dict(state.test_call_to),
                    "account": state.account,
                }
            )
            if not self._landed:
                raise StorageWriteError(self.path)

    async def _async_write_data(self, data: dict[str, Any]) -> None:
        """Write as Store does; note that it landed (Store logs a failure, raises none)."""
        await super()._async_write_data(data)
        self._landed = True

    async def async_remove_all(self) -> None:
        """Delete the file and any left from version 1.1 (the entry is removed)."""
        await self.async_remove()
        await self._async_remove_old()

    async def _async_left_from_1_1(self) -> bool:
        """Return whether files of version 1.1 wait to be merged (no file of 1.2 yet)."""
        for journal in self._journals:
            if await self.hass.async_add_executor_job(journal.exists):
                return True
        return await self._old_calls.async_load() is not None

    async def _async_remove_old(self) -> None:
        for journal in self._journals:
            await self.hass.async_add_executor_job(
                partial(journal.unlink, missing_ok=True)
            )
        await self._old_calls.async_remove()

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge version 1.1: numbers' snapshot and journal, calls' snapshot and journal."""
        if (old_major_version, old_minor_version) != (1, 1):
            raise NotImplementedError
        self._migrated = True
        numbers_journal, calls_journal = [
            await self.hass.async_add_executor_job(_read_journal, path)
            for path in self._journals
        ]
        numbers = {item["number"]: item for item in old_data.get("numbers", ())}
        for line in numbers_journal:
            if "forget" in line:
                numbers.pop(line["forget"], None)
            else:
                numbers[line["number"]] = line
        old_calls = await self._old_calls.async_load() or {}
        calls = {item["call_id"]: item for item in old_calls.get("calls", ())}
        calls.update((line["call_id"], line) for line in calls_journal)
        last = dict(old_calls.get("last", {}))
        for call in sorted(calls.values(), key=lambda call: str(call["placed_at"])):
            last[call["sender"]] = call["outcome"]  # the journal's are the latest
        for item in numbers.values():
            # Absent in files of version 0.1.
            item.setdefault("formatted", format_number(item["number"]))
        merged = {
            "numbers": list(numbers.values()),
            "calls": list(calls.values()),
            "last_call": last,
            # Every call kept was placed: each counts against the hourly limit.
            "attempts": [call["placed_at"] for call in calls.values()],
        }
        # Raises for anything we never wrote, before Store saves over the old file.
        state_from_storage(merged)
        return merged


def _read_journal(path: Path) -> list[Any]:
    """Return the lines of a journal of version 1.1, without a torn last line."""
    try:
        lines = path.read_bytes().split(b"\n")
    except FileNotFoundError:
        return []
    # A last line without its newline was cut short: nobody was told of that change.
    if torn := lines.pop():
        LOGGER.warning("Dropping an incomplete last line (%d bytes)", len(torn))
    return [json_loads(line) for line in lines]


def state_from_storage(data: dict[str, Any]) -> StoredState:
    """Read the file; raise ValueError, TypeError or KeyError on anything we never write."""
    numbers = [_record(item) for item in _typed(data.get("numbers", []), list)]
    calls = [_call(item) for item in _typed(data.get("calls", []), list)]
    last = _typed(data.get("last_call", {}), dict)
    picks = _typed(data.get("test_call_to", {}), dict)
    return StoredState(
        numbers={record.number: record for record in numbers},
        calls={call.call_id: call for call in calls},
        last_call={_number(k): CallOutcome(v) for k, v in last.items()},
        attempts=[_aware(item) for item in _typed(data.get("attempts", []), list)],
        test_call_to={_number(k): _number(v) for k, v in picks.items()},
        account=_optional(data.get("account"), str),
    )


def _record(stored: dict[str, Any]) -> NumberRecord:
    token_hash = _optional(stored["token_hash"], str)
    if token_hash is not None and not _TOKEN_HASH.fullmatch(token_hash):
        raise ValueError("token_hash")
    completed_at = _optional(stored["completed_at"], str)
    return NumberRecord(
        number=_number(stored["number"]),
        formatted=_typed(stored["formatted"], str),
        status=ValidationStatus(stored["status"]),
        requested_at=_aware(stored["requested_at"]),
        completed_at=_aware(completed_at) if completed_at else None,
        voice=_optional(stored["voice"], bool),
        caller_id=_optional(stored["caller_id"], int),
        error=_optional(stored["error"], str),
        token_hash=token_hash,
    )


def _call(stored: dict[str, Any]) -> PlacedCall:
    return PlacedCall(
        call_id=_typed(stored["call_id"], str),
        foreign_id=_typed(stored["foreign_id"], str),
        sender=_number(stored["sender"]),
        recipient=_number(stored["recipient"]),
        placed_at=_aware(stored["placed_at"]),
        outcome=CallOutcome(stored["outcome"]),
    )


def _number(value: object) -> str:
    if not _E164.fullmatch(number := _typed(value, str)):
        raise ValueError("number")
    return number


def _typed[T](value: object, kind: type[T]) -> T:
    # bool is an int to Python, not to us.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(kind.__name__)
    return value


def _optional[T](value: object, kind: type[T]) -> T | None:
    return None if value is None else _typed(value, kind)


def _aware(value: object) -> datetime:
    moment = datetime.fromisoformat(_typed(value, str))
    if moment.tzinfo is None:
        raise ValueError("time without zone")
    return moment
