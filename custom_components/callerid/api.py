"""Client for the parts of the seven.io gateway that caller ID validation needs."""

import asyncio
from dataclasses import dataclass
import json
import re
from typing import Any
from urllib.parse import quote

import aiohttp

DEFAULT_BASE_URL = "https://gateway.seven.io/api"
DEFAULT_TIMEOUT = 10.0
_HEADERS = {"Accept": "application/json", "SentWith": "HomeAssistant-callerid"}

# seven.io's error codes: where a number is a valid answer (the balance), only these.
ERROR_CODES = frozenset({"500", "600", "700", "900", "901", "902", "903"})

_ERROR_CODE = re.compile(r"\d{3}")
_VALIDATION_CODE = re.compile(r"\d{4,10}")


class SevenError(Exception):
    """Base error of the seven.io client."""


class SevenConnectionError(SevenError):
    """The gateway could not be reached or did not answer in time."""


class SevenTimeoutError(SevenConnectionError):
    """The gateway did not answer in time."""


class SevenServerError(SevenConnectionError):
    """The gateway answered with an HTTP server error (5xx)."""

    def __init__(self, status: int) -> None:
        """Keep the HTTP status."""
        super().__init__(f"http_{status}")
        self.status = status


class SevenApiError(SevenError):
    """The gateway answered with an error or with something unexpected."""

    def __init__(self, code: str, message: str | None = None) -> None:
        """Keep the gateway's code (or our own name for an unreadable answer)."""
        super().__init__(message or code)
        self.code = code


class SevenAuthenticationError(SevenApiError):
    """The gateway rejected the API key."""


class SevenMissingScopeError(SevenApiError):
    """The API key is valid but lacks the access right for this endpoint."""


class SevenInvalidNumberError(SevenApiError):
    """The gateway refused the number."""


_CODE_ERRORS: dict[str, type[SevenApiError]] = {
    "900": SevenAuthenticationError,
    "902": SevenMissingScopeError,
}


@dataclass(frozen=True, slots=True)
class Balance:
    """Credit left on the account."""

    amount: float
    currency: str | None


@dataclass(frozen=True, slots=True)
class ValidationStarted:
    """The gateway is calling the number; the code must be typed on the keypad."""

    code: str


@dataclass(frozen=True, slots=True)
class AlreadyValidated:
    """The number was validated before; no call is placed."""

    caller_id: int | None
    voice: bool


@dataclass(frozen=True, slots=True)
class VoiceCall:
    """One recipient's row of a voice answer."""

    call_id: str | None
    recipient: str
    success: bool
    error: str | None
    price: float | None


@dataclass(frozen=True, slots=True)
class VoiceResult:
    """The gateway's answer to a text-to-speech call."""

    total_price: float | None
    balance: float | None
    calls: tuple[VoiceCall, ...]


@dataclass(frozen=True, slots=True)
class JournalCall:
    """A voice call as seven.io's journal lists it."""

    call_id: str
    status: str
    duration: int


@dataclass(frozen=True, slots=True)
class Hook:
    """A webhook of the account."""

    hook_id: str
    target_url: str
    event_type: str


class SevenClient:
    """Talks to the seven.io gateway with one API key."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Use the given session; the client never creates one."""
        self._session = session
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout

    async def balance(self) -> Balance:
        """Return the account balance; this also proves that the key works."""
        data = await self._request("GET", "balance", number_ok=True)
        if not isinstance(data, dict):
            data = {"amount": data}
        if (amount := _number(data.get("amount"))) is None:
            raise SevenApiError("unexpected_response")
        return Balance(amount, _text(data.get("currency")))

    async def validate_for_voice(
        self, number: str, *, callback: str | None = None
    ) -> ValidationStarted | AlreadyValidated:
        """Ask the gateway to call `number` with a code. Never retried: each call rings a phone."""
        form = {"number": number} | ({} if callback is None else {"callback": callback})
        data = await self._request("POST", "validate_for_voice", form=form)
        if not isinstance(data, dict) or not isinstance(data.get("success"), bool):
            raise SevenApiError("unexpected_response")
        if not data["success"]:
            raise SevenInvalidNumberError("invalid_number", _text(data.get("error")))
        if (code := data.get("code")) is not None:
            if not isinstance(code, str) or not _VALIDATION_CODE.fullmatch(code):
                raise SevenApiError("unexpected_response")
            return ValidationStarted(code=code)
        if "id" not in data and "voice" not in data:
            # Neither a code nor what an already validated number comes with.
            raise SevenApiError("unexpected_response")
        caller_id = data.get("id")
        return AlreadyValidated(
            caller_id=caller_id if type(caller_id) is int else None,
            voice=data.get("voice") is True,
        )

    async def _request(
        self,
        method: str,
        endpoint: str,
        *,
        form: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        number_ok: bool = False,
    ) -> Any:
        try:
            async with asyncio.timeout(self._timeout):
                # No redirect is followed: it would take the key elsewhere.
                async with self._session.request(
                    method,
                    f"{self._base_url}/{endpoint}",
                    data=form,
                    params=query,
                    headers={"X-Api-Key": self._api_key} | _HEADERS,
                    allow_redirects=False,
                ) as response:
                    body = await response.text()
                    status = response.status
        except TimeoutError as err:
            raise SevenTimeoutError("timeout") from err
        except aiohttp.ClientError as err:
            raise SevenConnectionError(type(err).__name__) from err
        if status in (401, 403):
            raise SevenAuthenticationError(f"http_{status}")
        if status >= 500:
            raise SevenServerError(status)
        if status >= 300:
            raise SevenApiError(f"http_{status}")
        return _decode(body, number_ok=number_ok)

    async def voice(
        self,
        *,
        to: str,
        text: str,
        sender: str,
        ringtime: int | None = None,
        foreign_id: str | None = None,
    ) -> VoiceResult:
        """Call `to` from caller ID `sender` and read `text` out. Never retried: it rings a phone."""
        form = {"to": to, "text": text, "from": sender}
        if ringtime is not None:
            form["ringtime"] = str(ringtime)
        if foreign_id is not None:
            form["foreign_id"] = foreign_id
        return _voice_result(await self._request("POST", "voice", form=form))

    async def hang_up(self, call_id: str) -> str | None:
        """End a call that still goes on; return seven.io's reason if it refused."""
        # The id is seven.io's, and quoted all the same: it goes into the path.
        data = await self._request("POST", f"voice/{quote(call_id, safe='')}/hangup")
        if not isinstance(data, dict) or not isinstance(data.get("success"), bool):
            raise SevenApiError("unexpected_response")
        return None if data["success"] else _text(data.get("error")) or "refused"

    async def voice_journal(self, date_from: str) -> tuple[JournalCall, ...]:
        """Return the account's voice calls since `date_from` (YYYY-MM-DD), newest 100."""
        query = {"date_from": date_from, "limit": "100"}
        rows = await self._request("GET", "journal/voice", query=query)
        if not isinstance(rows, list):
            raise SevenApiError("unexpected_response")
        return tuple(_journal_call(row) for row in rows)

    async def spent(self, day: str) -> float:
        """Return what the account spent on `day` (YYYY-MM-DD) in euros, from analytics."""
        query = {"start": day, "end": day}
        rows = await self._request("GET", "analytics/date", query=query)
        if not isinstance(rows, list):
            raise SevenApiError("unexpected_response")
        return sum(
            _number(row.get("usage_eur")) or 0
            for row in rows
            if isinstance(row, dict) and str(row.get("date")).startswith(day)
        )

    async def hooks(self) -> tuple[Hook, ...]:
        """Return the account's webhooks."""
        hooks = _hooks_answer(await self._request("GET", "hooks")).get("hooks", [])
        if not isinstance(hooks, list):
            raise SevenApiError("unexpected_response")
        return tuple(_hook(hook) for hook in hooks)

    async def create_hook(self, target_url: str) -> str:
        """Have the gateway POST voice_status events as JSON to `target_url`; return the hook id."""
        form = {
            "target_url": target_url,
            "event_type": "voice_status",
            "request_method": "JSON",
        }
        data = _hooks_answer(await self._request("POST", "hooks", form=form))
        if (hook_id := _id(data.get("id"))) is None:
            raise SevenApiError("unexpected_response")
        return hook_id

    async def delete_hook(self, hook_id: str) -> None:
        """Delete one of the account's webhooks."""
        # The id goes in the form (seven.io's OpenAPI) and the query (its PHP SDK).
        ids = {"id": hook_id}
        _hooks_answer(await self._request("DELETE", "hooks", form=ids, query=ids))


def _decode(body: str, *, number_ok: bool) -> Any:
    """Return the JSON of an answer; raise for one that is only an error code (HTTP 200)."""
    try:
        data = json.loads(body)
    except ValueError:
        data = body
    if type(data) is int and (not number_ok or str(data) in ERROR_CODES):
        data = str(data)
    if not isinstance(data, str):
        return data
    if not _ERROR_CODE.fullmatch(code := data.strip()):
        raise SevenApiError("unexpected_response")
    raise _CODE_ERRORS.get(code, SevenApiError)(code)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _voice_result(data: Any) -> VoiceResult:
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list) or not messages:
        # Without rows, a `success` other than 100/101 is the gateway's error code.
        code = data.get("success") if isinstance(data, dict) else None
        if isinstance(code, str) and _ERROR_CODE.fullmatch(code) and code[0] != "1":
            raise _CODE_ERRORS.get(code, SevenApiError)(code)
        raise SevenApiError("unexpected_response")
    return VoiceResult(
        _number(data.get("total_price")),
        _number(data.get("balance")),
        tuple(_voice_call(message) for message in messages),
    )


def _voice_call(message: object) -> VoiceCall:
    if (
        not isinstance(message, dict)
        or not isinstance(success := message.get("success"), bool)
        or not isinstance(recipient := message.get("recipient"), str)
        or ((call_id := message.get("id")) is not None and _id(call_id) is None)
    ):
        raise SevenApiError("unexpected_response")
    # `error_text` says what went wrong; `error` may hold only a code.
    error = _code_or_text(message.get("error_text")) or _code_or_text(
        message.get("error")
    )
    return VoiceCall(
        _id(call_id), recipient, success, error, _number(message.get("price"))
    )


def _journal_call(row: object) -> JournalCall:
    if (
        not isinstance(row, dict)
        or (call_id := _id(row.get("id"))) is None
        or not isinstance(status := row.get("status") or "", str)
    ):
        raise SevenApiError("unexpected_response")
    # A text of seconds ("42", "42.0"), or empty (null) until the call ends.
    duration = row.get("duration")
    try:
        seconds = int(float(duration)) if duration not in (None, "") else 0
    except (TypeError, ValueError, OverflowError) as err:
        raise SevenApiError("unexpected_response") from err
    return JournalCall(call_id, status, max(seconds, 0))


def _hooks_answer(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("success"), bool):
        raise SevenApiError("unexpected_response")
    if not data["success"]:
        raise SevenApiError("hook_refused", _text(data.get("error_message")))
    return data


def _hook(hook: object) -> Hook:
    if (
        not isinstance(hook, dict)
        or (hook_id := _id(hook.get("id"))) is None
        or not isinstance(target_url := hook.get("target_url"), str)
        or not isinstance(event_type := hook.get("event_type"), str)
    ):
        raise SevenApiError("unexpected_response")
    return Hook(hook_id, target_url, event_type)


def _id(value: object) -> str | None:
    """Return an id the gateway sent as a number or as text, as text; None if it is neither."""
    if type(value) is int:  # not a bool
        return str(value)
    return value if isinstance(value, str) and value.strip() else None


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SevenApiError("unexpected_response")
    return float(value)


def _code_or_text(value: object) -> str | None:
    return str(value) if type(value) is int else _text(value)
