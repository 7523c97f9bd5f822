"""The one owner of an entry's state: its numbers and calls, one file, one lock.

Every change is written, then applied (a failed write raises StorageWriteError and
changes nothing). Changes run as tasks of their own, so that a caller that goes away
does not cut one short; the entry unloads once none is under way.
"""

import asyncio
from collections.abc import Coroutine, Mapping
import contextlib
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .api import Balance, SevenClient, SevenError, SevenMissingScopeError
from .call_log import CallLog
from .const import (
    CONF_CODE_LIFETIME,
    CONF_MIN_TALK_TIME,
    CONF_WARN_BELOW,
    DEFAULT_CODE_LIFETIME,
    DEFAULT_MIN_TALK_TIME,
    DOMAIN,
    ISSUE_BALANCE_LOW,
    LOGGER,
    ValidationStatus,
)
from .helpers import async_issue, invalid, signal
from .listing import Listing
from .models import NumberRecord, PlacedCall
from .notification import async_dismiss_code
from .reachability import HookSync
from .storage import CallerIdStore, StorageWriteError, StoredState
from .validation import Validations

type CallerIdConfigEntry = ConfigEntry[CallerIdCoordinator]


class CallerIdCoordinator:
    """Owns one seven.io account's numbers, validations and calls."""

    def __init__(
        self, hass: HomeAssistant, entry: CallerIdConfigEntry, client: SevenClient
    ) -> None:
        """Prepare; call async_load before use."""
        self.hass = hass
        self.entry = entry
        self.client = client
        self.store = CallerIdStore(hass, entry.entry_id)
        self.numbers: dict[str, NumberRecord] = {}
        self.listing = Listing(self)
        self.validations = Validations(self)
        self.calls = CallLog(self)
        self.hooks = HookSync(hass, entry, client)
        # Webhook requests refused since the last warning, and when that was.
        self.refused = 0
        self.refusal_warned: datetime | None = None
        # Stored numbers given no entities: Home Assistant's limit per entry had no room.
        self.hidden: frozenset[str] = frozenset()
        self.lock = asyncio.Lock()
        self.closed = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._expiry: dict[str, CALLBACK_TYPE] = {}
        # How long a code stays good (a change of the options reloads the entry).
        minutes = entry.options.get(CONF_CODE_LIFETIME, DEFAULT_CODE_LIFETIME)
        self.code_lifetime = timedelta(minutes=minutes)
        # Seconds a completed call lasts to count as answered.
        talk = entry.options.get(CONF_MIN_TALK_TIME, DEFAULT_MIN_TALK_TIME)
        self.min_talk_time = int(talk)
        # seven.io's credit: None until known, and while the key may not read it.
        self.balance: Balance | None = None
        # The credit below which a repair warns (0: never).
        self.warn_below = float(entry.options.get(CONF_WARN_BELOW, 0))

    async def async_load(self) -> None:
        """Read the file; expire what expired while Home Assistant was away."""
        state = await self.store.async_load_state()
        self.calls.load(state)
        self.listing.test_call_to = state.test_call_to
        now = dt_util.utcnow()
        self.numbers = {
            number: record.expired(self.code_lifetime)
            if record.status is ValidationStatus.PENDING
            and record.expires_at(self.code_lifetime) <= now
            else record
            for number, record in state.numbers.items()
        }
        if state.account not in (None, self.entry.unique_id):
            # The key is of another account now (config flow): it validated none of them.
            self.numbers = {n: r.disowned(now) for n, r in self.numbers.items()}
        if self.numbers != state.numbers and not self.hass.is_stopping:
            # Expiry follows from the time alone: the next load finds it again.
            await self.async_write()
        for record in self.numbers.values():
            self._schedule_expiry(record)
        self.listing.load()

    async def async_refresh_balance(self) -> None:
        """Ask seven.io for the credit (after setup, then hourly by its sensor)."""
        try:
            self.set_balance(await self.client.balance())
        except SevenMissingScopeError:
            self.set_balance(None)  # the sensor is unavailable, nothing is wrong
        except SevenError as err:
            LOGGER.debug("Could not read the balance: %s", err)

    @callback
    def set_balance(self, balance: Balance | None) -> None:
        """Keep the credit, show it, and warn while it is below the option's amount."""
        self.balance = balance
        async_dispatcher_send(self.hass, signal(self.entry.entry_id, "balance"))
        async_issue(
            self.hass,
            ISSUE_BALANCE_LOW,
            present=self.balance_low,
            entry=self.entry,
            balance=f"{balance.amount:.2f}" if balance else "",
            currency=(balance.currency or "") if balance else "",
            below=f"{self.warn_below:g}",
        )

    @property
    def balance_low(self) -> bool:
        """Return whether the credit is below the option Warn below (0: never)."""
        return self.balance is not None and self.balance.amount < self.warn_below

    async def async_shutdown(self) -> None:
        """Return once nothing is under way; nothing changes after."""
        self.closed = True
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        self.hooks.async_shutdown()
        self.calls.journal.async_cancel()
        for number in list(self._expiry):
            self._cancel_expiry(number)

    def track[T](self, change: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run `change` as a task the entry waits for as it unloads."""
        if self.closed:
            change.close()
            raise invalid("entry_not_loaded", title=self.entry.title)
        task = self.hass.async_create_task(change, f"{DOMAIN} change", eager_start=True)
        if not task.done():
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return task

    async def async_finish[T](self, change: Coroutine[Any, Any, T]) -> T:
        """Run `change` to its end, even if the caller goes away; return its result."""
        return await asyncio.shield(self.track(change))

    async def async_write(
        self,
        numbers: Mapping[str, NumberRecord | None] | None = None,
        calls: Mapping[str, PlacedCall] | None = None,
        test_call_to: Mapping[str, str] | None = None,
    ) -> None:
        """Write the file with `numbers` (None: forgotten), `calls` and picks changed.

        Validations written ahead stay in it. The caller holds the lock, then applies.
        """
        merged = {**self.numbers, **self.validations.ahead, **(numbers or {})}
        picks = self.listing.test_call_to if test_call_to is None else test_call_to
        await self.store.async_save_state(
            StoredState(
                numbers={n: record for n, record in merged.items() if record},
                **self.calls.snapshot(calls or {}),
                # A forgotten number's pick goes with it.
                test_call_to={n: to for n, to in picks.items() if merged.get(n)},
                account=self.entry.unique_id,
            )
        )

    async def async_forget(self, number: str) -> None:
        """Drop a number, once a request for it under way has ended."""
        await self.async_finish(self._async_forget(number))

    async def _async_forget(self, number: str) -> None:
        await self.validations.async_wait_for(number)
        async with self.lock:
            if number not in self.numbers:
                return
            await self.async_write({number: None})
            del self.numbers[number]
            self._cancel_expiry(number)
            self.listing.remove(number)
            self.listing.check_recipients(number)
        async_dismiss_code(self.hass, self.entry, number)

    def put(self, record: NumberRecord) -> None:
        """Keep `record` and tell the entities; only once it is on disk."""
        previous = self.numbers.get(record.number)
        self.numbers[record.number] = record
        self._schedule_expiry(record)
        entry_id = self.entry.entry_id
        if previous is None:
            self.listing.add(record.number)
            async_dispatcher_send(self.hass, signal(entry_id, "new"), record)
        async_dispatcher_send(self.hass, signal(entry_id, record.number), record)
        if previous is None or previous.can_call != record.can_call:
            self.listing.check_recipients(record.number)

    def _schedule_expiry(self, record: NumberRecord) -> None:
        """Time the expiry of `record` if it is pending; cancel any earlier timer."""
        self._cancel_expiry(record.number)
        if record.status is not ValidationStatus.PENDING:
            return

        @callback
        def _expire(_: datetime) -> None:
            self._expiry.pop(record.number, None)
            if not self.closed:  # else the next load expires it
                self.track(self._async_expire(record))

        self._expiry[record.number] = async_track_point_in_utc_time(
            self.hass, _expire, record.expires_at(self.code_lifetime)
        )

    async def _async_expire(self, record: NumberRecord) -> None:
        async with self.lock:
            if self.numbers.get(record.number) is not record:
                return  # changed meanwhile
            expired = record.expired(self.code_lifetime)
            # Expiry follows from the time alone: if not saved, the next load redoes it.
            with contextlib.suppress(StorageWriteError):
                await self.async_write({record.number: expired})
            self.put(expired)
        self.validations.completed(expired)

    def _cancel_expiry(self, number: str) -> None:
        if (cancel := self._expiry.pop(number, None)) is not None:
            cancel()
