"""The calls an entry placed, how they ended, and the hourly limit; saved by the owner."""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
import secrets
from typing import TYPE_CHECKING, Any

from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .api import Balance, SevenAuthenticationError, SevenError
from .const import (
    CONF_MAX_CALLS,
    DEFAULT_MAX_CALLS,
    DOMAIN,
    EVENT_CALL_ENDED,
    EVENT_CALL_PLACED,
    LOGGER,
)
from .helpers import (
    gateway_error,
    gateway_errors,
    invalid,
    last_call_entity_id,
    may_have_rung,
    signal,
)
from .models import CallOutcome, PlacedCall, combined, outcome_of
from .phone import mask_number
from .storage import StorageWriteError, StoredState
from .trigger import number_device_id

if TYPE_CHECKING:
    from .coordinator import CallerIdCoordinator

# seven.io reports a call's end within its ring time and retries: a day is plenty.
CALL_MEMORY = timedelta(days=1)
# A call still Calling this long after it was placed (ring time at most a minute, then
# the message) is looked up in seven.io's voice journal; again as often while it stays.
LOOK_UP_AFTER = timedelta(minutes=15)


class CallLog:
    """Calls of one entry: placed, ended, counted."""

    def __init__(self, owner: CallerIdCoordinator) -> None:
        """Start empty; the owner loads what the file holds."""
        self._owner = owner
        self.calls: dict[str, PlacedCall] = {}
        # How the last call from each number went, also once the call is forgotten.
        self.last: dict[str, CallOutcome] = {}
        self.limit = HourlyLimit()
        self.journal = JournalLookup(owner, self)
        self._balance: float | None = None

    def load(self, state: StoredState) -> None:
        """Take what the file holds."""
        self.calls = dict(state.calls)
        self.last = dict(state.last_call)
        self.limit.attempts = list(state.attempts)

    def snapshot(self, changed: Mapping[str, PlacedCall]) -> dict[str, Any]:
        """Return the fields of the file this log holds, with `changed` calls."""
        since = dt_util.utcnow() - CALL_MEMORY
        calls = {**self.calls, **changed}
        last = dict(self.last)
        for call in changed.values():
            if (outcome := _last_call(call, calls)) is not None:
                last[call.sender] = outcome
        return {
            "calls": {
                call_id: call
                for call_id, call in calls.items()
                if call.placed_at >= since
            },
            "last_call": last,
            "attempts": list(self.limit.recent()),
        }

    async def async_call(
        self, sender: str, recipients: list[str], message: str, ringtime: int | None
    ) -> dict[str, Any]:
        """Call each recipient from `sender`, reserved against the hourly limit first."""
        return await self._owner.async_finish(
            self._async_call(sender, recipients, message, ringtime)
        )

    async def _async_call(
        self, sender: str, recipients: list[str], message: str, ringtime: int | None
    ) -> dict[str, Any]:
        self.limit.reserve(len(recipients), self._owner.entry.options)
        # One id for the action's calls: the Last call sensor shows them together.
        foreign_id = secrets.token_hex(8)
        rows: list[dict[str, Any]] = []
        first_error: SevenError | None = None
        try:
            for recipient in recipients:
                row, error = await self._async_place(
                    sender, recipient, message, ringtime, foreign_id
                )
                rows.append(row)
                first_error = first_error or error
                if isinstance(error, SevenAuthenticationError):
                    self._owner.entry.async_start_reauth(self._owner.hass)
                    break  # the key is refused: every other call would be too
        finally:
            self.limit.reserved -= len(recipients)
        if not any(row["success"] for row in rows):
            if first_error is not None:
                raise gateway_error(first_error, sender) from first_error
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="call_refused",
                translation_placeholders={"error": rows[0]["error"]},
            )
        return {
            "calls": rows,
            "total_price": round(sum(row["price"] or 0 for row in rows), 6),
            "balance": self._balance,
            # False: seven.io will not report how the calls end (see the repair).
            "outcome_reported": self._owner.hooks.outcome_reported,
        }

    async def _async_place(
        self,
        sender: str,
        recipient: str,
        message: str,
        ringtime: int | None,
        foreign_id: str,
    ) -> tuple[dict[str, Any], SevenError | None]:
        """Place one call; return its response row and the error, if it failed."""
        try:
            result = await self._owner.client.voice(
                to=recipient,
                text=message,
                sender=sender,
                ringtime=ringtime,
                foreign_id=foreign_id,
            )
        except SevenError as err:
            await self._async_count(int(may_have_rung(err)), [])
            return _row(recipient, error=str(err)), err
        self._balance = result.balance
        if result.balance is not None and (known := self._owner.balance) is not None:
            # The answer has no currency: the balance request told it.
            self._owner.set_balance(Balance(result.balance, known.currency))
        rung = [call for call in result.calls if call.success]
        now = dt_util.utcnow()
        # seven.io may repeat an id: each call is kept once, each row counted.
        ids = dict.fromkeys(call.call_id for call in rung if call.call_id)
        placed = [PlacedCall(i, foreign_id, sender, recipient, now) for i in ids]
        price = sum(call.price or 0 for call in rung)
        await self._async_count(len(rung), placed, price)
        if not placed:  # the client answers with a row per recipient, or raises
            return _row(recipient, error=result.calls[0].error or "refused"), None
        return _row(recipient, call_id=placed[0].call_id, price=price), None

    async def _async_count(
        self, rung: int, placed: list[PlacedCall], price: float = 0
    ) -> None:
        """Count `rung` requests and keep the calls placed (`price` together)."""
        # Applied before the write: a call that ends at once (busy) is known to its
        # status event. A failed write is only logged.
        self.limit.recent().extend([dt_util.utcnow()] * rung)
        for call in placed:
            self._keep(call)
            _fire(self._owner, EVENT_CALL_PLACED, call, price=price)
            LOGGER.debug(
                "Call from %s to %s placed",
                mask_number(call.sender),
                mask_number(call.recipient),
            )
        if placed:
            self.journal.async_schedule()
        try:
            async with self._owner.lock:
                await self._owner.async_write()
        except StorageWriteError as err:
            LOGGER.error("Could not save a placed call: %s", err)

    async def async_hang_up(self, sender: str, call_ids: list[str]) -> dict[str, Any]:
        """End the calls from `sender` still going on (of `call_ids`, if any given)."""
        rows: list[dict[str, Any]] = []
        for call in list(self.calls.values()):
            if (
                call.sender != sender
                or call.outcome is not CallOutcome.CALLING
                or (call_ids and call.call_id not in call_ids)
            ):
                continue
            with gateway_errors(self._owner.hass, self._owner.entry, sender):
                error = await self._owner.client.hang_up(call.call_id)
            rows.append(
                {"call_id": call.call_id, "to": call.recipient, "success": not error}
                | {"error": error}
            )
        return {"calls": rows}

    async def async_status(
        self, call_id: str, foreign_id: str | None, status: str, duration: int
    ) -> PlacedCall | None:
        """Apply a status event of a call this entry placed; None if it is no such call."""
        call = self.calls.get(call_id)
        if (
            call is None
            or call.placed_at < dt_util.utcnow() - CALL_MEMORY
            or (foreign_id is not None and foreign_id != call.foreign_id)
        ):
            return None  # not a call this entry placed in the last day
        if (outcome := outcome_of(status, duration, self._owner.min_talk_time)) is None:
            return call  # an update before the end (ringing): taken in, nothing changes
        if call.outcome is not CallOutcome.CALLING:
            return None  # ended already: a replay is refused like a forgery
        return await self._owner.async_finish(
            self.async_end(call_id, outcome, status, duration)
        )

    async def async_end(
        self, call_id: str, outcome: CallOutcome, status: str, duration: int
    ) -> PlacedCall | None:
        """End a call still Calling, as seven.io reported it; None if it had ended."""
        async with self._owner.lock:
            call = self.calls[call_id]
            if call.outcome is not CallOutcome.CALLING:
                return None  # a repeat that arrived while the first was written
            ended = replace(call, outcome=outcome)
            await self._owner.async_write(calls={call_id: ended})
            self._keep(ended)
        answered = outcome is CallOutcome.ANSWERED
        ending = {"status": status, "outcome": outcome.value, "answered": answered}
        _fire(self._owner, EVENT_CALL_ENDED, ended, **ending, duration=duration)
        return ended

    def _keep(self, call: PlacedCall) -> None:
        self.calls[call.call_id] = call
        if (outcome := _last_call(call, self.calls)) is not None:
            self.last[call.sender] = outcome
        async_dispatcher_send(
            self._owner.hass, signal(self._owner.entry.entry_id, call.sender, "call")
        )


class JournalLookup:
    """Ends the calls whose status event never came, as seven.io's voice journal tells."""

    def __init__(self, owner: CallerIdCoordinator, log: CallLog) -> None:
        """Nothing is due yet."""
        self._owner = owner
        self._log = log
        self._timer: CALLBACK_TYPE | None = None

    async def async_look_up(self, *, every: bool = False) -> None:
        """Look up the calls Calling for long (`every`: all, as after a restart)."""
        due = dt_util.utcnow() - LOOK_UP_AFTER
        stuck = [call for call in self._calling() if every or call.placed_at <= due]
        if stuck:
            # A day earlier: the journal's dates may be seven.io's local ones.
            since = min(call.placed_at for call in stuck) - timedelta(days=1)
            try:
                rows = await self._owner.client.voice_journal(since.date().isoformat())
            except SevenError as err:
                LOGGER.debug("Could not read seven.io's voice journal: %s", err)
                rows = ()
            found = {row.call_id: row for row in rows}
            for call in stuck:
                if (row := found.get(call.call_id)) is not None:
                    await self._async_end(call, row.status, row.duration)
        self.async_schedule(not_before=dt_util.utcnow() + LOOK_UP_AFTER)

    async def _async_end(self, call: PlacedCall, status: str, duration: int) -> None:
        # An empty status is a call that goes on.
        talk = self._owner.min_talk_time
        if (outcome := outcome_of(status or "in-progress", duration, talk)) is None:
            return
        try:
            await self._log.async_end(call.call_id, outcome, status, duration)
        except StorageWriteError as err:
            LOGGER.error("Could not save how a call ended: %s", err)

    @callback
    def async_schedule(self, not_before: datetime | None = None) -> None:
        """Time the next lookup: when the oldest call Calling is due, not before that."""
        self.async_cancel()
        if not (calling := self._calling()) or self._owner.closed:
            return
        oldest = min(call.placed_at for call in calling)
        at = max(oldest + LOOK_UP_AFTER, not_before or dt_util.utcnow())
        self._timer = async_track_point_in_utc_time(self._owner.hass, self._due, at)

    @callback
    def async_cancel(self) -> None:
        """Look up nothing more."""
        if self._timer is not None:
            self._timer()
            self._timer = None

    def _calling(self) -> list[PlacedCall]:
        return [c for c in self._log.calls.values() if c.outcome is CallOutcome.CALLING]

    @callback
    def _due(self, _: datetime) -> None:
        self._timer = None
        if not self._owner.closed:
            self._owner.track(self.async_look_up())


@dataclass
class HourlyLimit:
    """The voice requests of the last hour that may have rung, and calls reserved."""

    attempts: list[datetime] = field(default_factory=list)
    # Calls the actions under way may still place; each gives back its own.
    reserved: int = 0

    def reserve(self, count: int, options: Mapping[str, Any]) -> None:
        """Reserve `count` calls; refuse if they would exceed the entry's hourly limit."""
        limit = int(options.get(CONF_MAX_CALLS, DEFAULT_MAX_CALLS))
        if len(self.recent()) + self.reserved + count > limit:
            raise invalid("call_limit", limit=str(limit))
        self.reserved += count

    def recent(self) -> list[datetime]:
        """Return the attempts of the last hour, the older ones dropped."""
        since = dt_util.utcnow() - timedelta(hours=1)
        self.attempts = [moment for moment in self.attempts if moment >= since]
        return self.attempts


def _fire(
    owner: CallerIdCoordinator, event: str, call: PlacedCall, **data: Any
) -> None:
    hass, entry_id = owner.hass, owner.entry.entry_id
    hass.bus.async_fire(
        event,
        {
            "config_entry_id": entry_id,
            "call_id": call.call_id,
            "from": call.sender,
            "to": call.recipient,
            # The caller ID's device and Last call: the logbook shows the call there.
            ATTR_DEVICE_ID: number_device_id(hass, entry_id, call.sender),
            ATTR_ENTITY_ID: last_call_entity_id(hass, entry_id, call.sender),
            **data,
        },
    )


def _last_call(call: PlacedCall, calls: Mapping[str, PlacedCall]) -> CallOutcome | None:
    """Return how the action of `call` went, if it is the latest from its number.

    The calls of one action share their foreign id: answered if anyone answered.
    """
    own = [c for c in calls.values() if c.sender == call.sender]
    if any(
        c.placed_at > call.placed_at and c.foreign_id != call.foreign_id for c in own
    ):
        return None  # a later action's calls are shown
    return combined([c.outcome for c in own if c.foreign_id == call.foreign_id])


def _row(to: str, call_id: str | None = None, **fields: str | float) -> dict[str, Any]:
    """Return a call's row of the action's response, with its `error` or `price`."""
    row: dict[str, Any] = {"to": to, "call_id": call_id, "success": call_id is not None}
    return row | {"error": None, "price": None} | fields
