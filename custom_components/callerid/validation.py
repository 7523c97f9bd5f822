"""Validations of caller IDs: one request per number, its result, its callback."""

import asyncio
import hmac
import math
import secrets
from typing import TYPE_CHECKING, Any, cast

from homeassistant.helpers import entity_platform
from homeassistant.util import dt as dt_util

from .api import AlreadyValidated
from .const import (
    CONF_COOLDOWN,
    DEFAULT_COOLDOWN,
    DOMAIN,
    ENABLED_ENTITIES,
    EVENT_VALIDATION_COMPLETED,
    LOGGER,
    ValidationStatus,
)
from .helpers import async_entity_room, gateway_errors, invalid
from .models import NO_TOKEN_HASH, CallbackResult, NumberRecord, hash_token, new_record
from .notification import async_show_code, async_show_outcome
from .phone import format_number, mask_number
from .reachability import CallbackUrl, async_callback_url

if TYPE_CHECKING:
    from .coordinator import CallerIdCoordinator


class Validations:
    """The validations of one entry's numbers."""

    def __init__(self, owner: CallerIdCoordinator) -> None:
        """None is under way."""
        self._owner = owner
        # Pending validations on disk that wait for seven.io's answer to take effect.
        self.ahead: dict[str, NumberRecord] = {}
        # The one validation being asked for per number: its token hash and task.
        self._asking: dict[str, tuple[str, asyncio.Task[Any]]] = {}

    async def async_wait_for(self, number: str) -> None:
        """Return once no request for `number` is under way."""
        if (asked := self._asking.get(number)) is not None:
            await asyncio.wait([asked[1]])

    async def async_validate(self, number: str) -> dict[str, Any]:
        """Have seven.io call `number` with a code; return what the action answers."""
        owner = self._owner
        cooldown = owner.entry.options.get(CONF_COOLDOWN, DEFAULT_COOLDOWN)
        record = owner.numbers.get(number)
        wait = 0.0
        if number in self._asking:
            # Its cooldown starts once seven.io answers.
            wait = max(cooldown, 1)
        elif record is not None and record.status is ValidationStatus.PENDING:
            wait = cooldown - (dt_util.utcnow() - record.requested_at).total_seconds()
        if wait > 0:
            raise invalid(
                "cooldown", number=mask_number(number), seconds=str(math.ceil(wait))
            )
        # New numbers being asked for right now get their entities soon.
        needed = (1 + len(self._asking)) * len(ENABLED_ENTITIES)
        if record is None and needed > async_entity_room(owner.hass, owner.entry):
            limit = entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY
            raise invalid("too_many_numbers", limit=f"{limit:,}")
        return await owner.async_finish(self._async_validate(number))

    async def _async_validate(self, number: str) -> dict[str, Any]:
        token = secrets.token_urlsafe(32)
        hashed = hash_token(token)
        task = cast("asyncio.Task[Any]", asyncio.current_task())
        # From now on a callback with this token waits for the answer, not refused.
        self._asking[number] = (hashed, task)
        owner = self._owner
        try:
            callback_url = await async_callback_url(owner.hass, owner.entry, token)
            return await self._async_ask(number, hashed, callback_url)
        finally:
            self._asking.pop(number, None)

    async def _async_ask(
        self, number: str, hashed: str, callback_url: CallbackUrl
    ) -> dict[str, Any]:
        """Ask seven.io while the pending validation is written (a crash keeps it)."""
        owner = self._owner
        now = dt_util.utcnow()
        known = owner.numbers.get(number) or new_record(
            number, format_number(number), now
        )
        pending = known.pending(hashed, now)
        ahead = owner.hass.async_create_task(
            self._async_write_ahead(pending), f"{DOMAIN} write ahead", eager_start=True
        )
        try:
            with gateway_errors(owner.hass, owner.entry, number):
                result = await owner.client.validate_for_voice(
                    number, callback=callback_url.url
                )
        except asyncio.CancelledError:
            raise  # Home Assistant stops: seven.io may have rung, the pending stays.
        except BaseException:
            await self._async_take_back(number, ahead)
            raise
        await asyncio.wait([ahead])
        if isinstance(result, AlreadyValidated):
            ahead.exception()  # what was written ahead is replaced now
            record = pending.known_validated(result.caller_id, result.voice, now)
            await self._async_known_validated(record)
            return _response(record, None, callback_url)
        # Whoever answers needs the code, even if the validation was not saved.
        await async_show_code(
            owner.hass, owner.entry, pending, result.code, callback_url.reachable
        )
        if (failed := ahead.exception()) is not None:
            raise failed
        self.ahead.pop(number, None)
        owner.put(pending)
        LOGGER.debug("Validation of %s started", mask_number(number))
        return _response(pending, result.code, callback_url)

    async def _async_known_validated(self, record: NumberRecord) -> None:
        async with self._owner.lock:
            await self._owner.async_write({record.number: record})
            self.ahead.pop(record.number, None)
            self._owner.put(record)
        self.completed(record)  # it ended at once: validated

    async def _async_write_ahead(self, pending: NumberRecord) -> None:
        async with self._owner.lock:
            await self._owner.async_write({pending.number: pending})
            self.ahead[pending.number] = pending

    async def _async_take_back(self, number: str, ahead: asyncio.Task[None]) -> None:
        """Write back what was known of `number`: its validation did not start."""
        await asyncio.wait([ahead])
        if not ahead.cancelled():
            ahead.exception()
        if number not in self.ahead:
            return  # the pending validation never reached the disk
        async with self._owner.lock:
            try:
                await self._owner.async_write({number: self._owner.numbers.get(number)})
            finally:
                # Memory holds what was known; if not written, the next start expires it.
                self.ahead.pop(number, None)

    async def async_complete(
        self, number: str, token: str, result: CallbackResult
    ) -> NumberRecord | None:
        """Apply a callback if `token` opens the pending validation of `number`; else None."""
        # Compared with both the live and the asked-for one always: a refusal takes as
        # long whichever way it is wrong.
        hashed = hash_token(token)
        live = self._owner.numbers.get(number)
        opens_live = hmac.compare_digest(
            live.expected_token_hash if live else NO_TOKEN_HASH, hashed
        )
        asked_hash, asked = self._asking.get(number, (NO_TOKEN_HASH, None))
        opens_asked = hmac.compare_digest(asked_hash, hashed)
        if not (opens_live or opens_asked):
            return None
        waits_for = asked if opens_asked else None
        return await self._owner.async_finish(
            self._async_complete(number, hashed, result, waits_for)
        )

    async def _async_complete(
        self,
        number: str,
        hashed: str,
        result: CallbackResult,
        asked: asyncio.Task[Any] | None,
    ) -> NumberRecord | None:
        if asked is not None:
            # seven.io called back before its answer to the request landed.
            await asyncio.wait([asked])
        async with self._owner.lock:
            record = self._owner.numbers.get(number)
            if (
                record is None
                or record.status is not ValidationStatus.PENDING
                or not hmac.compare_digest(record.expected_token_hash, hashed)
                or dt_util.utcnow() >= record.expires_at(self._owner.code_lifetime)
            ):
                return None
            completed = record.completed(result, dt_util.utcnow())
            await self._owner.async_write({number: completed})
            self._owner.put(completed)
        self.completed(completed)
        return completed

    def completed(self, record: NumberRecord) -> None:
        """Tell whoever started the validation how it ended."""
        owner = self._owner
        LOGGER.debug("Validation of %s: %s", mask_number(record.number), record.status)
        async_show_outcome(owner.hass, owner.entry, record)
        owner.hass.bus.async_fire(
            EVENT_VALIDATION_COMPLETED,
            {
                "config_entry_id": owner.entry.entry_id,
                "number": record.number,
                "status": record.status.value,
                "success": record.validated,
                "voice": record.voice,
                "caller_id": record.caller_id,
                "error": record.error,
            },
        )


def _response(
    record: NumberRecord, code: str | None, callback_url: CallbackUrl
) -> dict[str, Any]:
    return {
        "number": record.number,
        "formatted": record.formatted,  # for people to read, as the device is named
        "status": record.status.value,
        "code": code,
        "caller_id": None if record.caller_id is None else str(record.caller_id),
        "voice": record.voice,
        # False: seven.io cannot reach Home Assistant; the sensor will not update by itself.
        "callback_reachable": callback_url.reachable,
    }
