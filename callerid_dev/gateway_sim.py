"""A local stand-in for the seven.io gateway, as far as caller IDs and voice calls go.

Gateway endpoints (each API key is an account of its own, with its scopes):
- `GET /api/balance`.
- `POST /api/validate_for_voice`: "rings" a number by keeping its code until someone
  types it on the keypad (`POST /_sim/keypad`), then calls the callback URL with
  seven.io's parameters. A validated number belongs to the key that validated it.
- `POST /api/voice` (`to`, `text`, `from?`, `ringtime`, `foreign_id`): places a
  text-to-speech call and answers with seven.io's JSON (`success` "100", `total_price`,
  `balance`, `debug`, one `messages` row per recipient). A `from` that is not a caller
  ID validated on the key's account gets a row with `success` false and error 201; without
  `from` the call comes from the account's default sender. A row's `id` is a number,
  or text after `POST /_sim/shapes {"message_id": "string"}`.
  Missing `to`/`text` answer 301/305, a text over 10,000 characters 401, no credit 500.
- `GET /api/journal/voice` (`limit`): the account's calls, newest first, each field text.
- `GET /api/analytics/date` (`start`, `end`): per day with calls, `voice` and `usage_eur`.
- `POST /api/voice/{id}/hangup`: ends a call that goes on (`{"success", "error"}`);
  its end is reported as `completed` once answered, else `canceled`.
- `/api/hooks`: `GET` lists the hooks of the key's account (`{"success", "code", "hooks"}`), `POST`
  (`target_url`, `event_type`, `request_method`, `event_filter`, `headers`) creates
  one (`{"success": true, "id": 42}`), `DELETE` (`id`) removes one. The older
  `action=read|subscribe|unsubscribe` parameter is accepted too.
All of them answer 900 for an unknown key and 902 for a key without the scope
(`balance`, `validate_for_voice`, `voice`, `hooks`, `journal`, `analytics`), and the
injected faults apply.

Control endpoints under `/_sim/`:
- `POST /_sim/keypad {number, digits}`: the person called for a validation types digits.
- `POST /_sim/progress {call_id, sequence?}`: reports a placed call's progress without
  ending it: one `voice_status` event per status of `sequence` (default `initiated`,
  `ringing`, those not reported yet), with the duration still empty.
- `POST /_sim/end_call {call_id, status?, duration?, sequence?}`: ends a placed call as
  seven.io reports it: first the progress statuses of `sequence` (default the ones not
  reported yet of `initiated`, `ringing` and, when `status` is `completed`,
  `in-progress`), then the final `status` (default `completed`) with `duration` exactly
  as given (a number, "17", "17.0", "" or null; default "0"). Answers `{call_id,
  status, updates: [{status, events}], events}`: per hook id the status of each
  delivery attempt, `events` those of the final event. With `drop` true no event is
  sent: the call ends in the journal only.
  Both also take `progress_duration` (`empty`: "" as the JS SDK types it, the default;
  `null`; `absent`), `event_id` (`string` as the JS SDK types it, the default, or
  `integer`) and how failed deliveries are retried: `retry_policy` (`current`, the
  default, or `legacy`), `attempts`, `retry_delay` (seconds) and `attempt_timeout`.
  Each event is POSTed as JSON (`foreign_id` in `data` when the call had one) to every
  enabled `voice_status` or `all` hook of the account of the call's key, whatever the hook's
  `request_method`, one event after the other; `callback_twice` and `callback_delay`
  apply to these deliveries.
- `POST /_sim/faults`, `POST /_sim/account {key?, scopes?, account?, credit?,
  default_sender?}`, `POST /_sim/shapes {message_id}`, `POST /_sim/reset`, and
  `GET /_sim/state`
  (requests, validations, calls, hooks, callbacks and events delivered, each event's
  attempts as they happen).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
import json
import logging
import secrets
import time
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web
import phonenumbers
from yarl import URL

LOGGER = logging.getLogger(__name__)
ALL_SCOPES = frozenset(
    {"balance", "validate_for_voice", "voice", "hooks", "journal", "analytics"}
)
FIRST_CALLER_ID = 12345
FIRST_CALL_ID = 123456789
FIRST_HOOK_ID = 42
PRICE_PER_MINUTE = 0.045
MAX_TEXT = 10_000
HOOK_EVENT_TYPES = frozenset(
    {
        "all",
        "rcs",
        "rcs_dlr",
        "rcs_mo",
        "sms_mo",
        "dlr",
        "voice_call",
        "voice_status",
        "voice_dtmf",
        "tracking",
    }
)
HOOK_REQUEST_METHODS = frozenset({"GET", "JSON", "POST"})
# Without `from` seven.io calls from a number of its own (docs.seven.io/en/rest-api/
# endpoints/voice: `from` optional; the OpenAPI's VoiceDispatch does not require it).
# Which one is not published: this is the system number of seven.io's webhook examples.
DEFAULT_SENDER = "491771783130"
# seven.io's voice docs, Webhooks section (../shared/seven-api/NOTES.md): a call reports
# `initiated` and `ringing`, `in-progress` once answered, then how it ended: `completed`,
# `no-answer`, `failed`. The JS SDK types the status `"completed" | string` (hooks
# `VoiceStatusChangePayload`, journal `JournalVoice`), so others such as `busy` pass.
PROGRESS = ("initiated", "ringing", "in-progress")
ANSWERED = "completed"


class _Absent:
    """The marker of a field left out of an event."""


ABSENT = _Absent()
# "You will get the duration when it is completed": before, the JS SDK's `duration:
# string` reads as "", and a field that is not known yet may be null or missing.
PROGRESS_DURATIONS: dict[str, Any] = {"empty": "", "null": None, "absent": ABSENT}
# Ids seven.io's sources show both as text and as numbers: the voice answer's row id
# (see Shapes) and the event's call id (text in the JS SDK's VoiceStatusChangePayload,
# a number in its DtmfPayload of the same calls).
ID_FORMS = frozenset({"string", "integer"})


@dataclass
class Faults:
    """What goes wrong with the next gateway requests (and callbacks)."""

    delay: float = 0.0
    status: int | None = None
    malformed: bool = False
    empty: bool = False
    drop: bool = False
    callback_delay: float = 0.0
    callback_twice: bool = False
    # How many gateway requests the request faults apply to; None: until reset.
    times: int | None = None


@dataclass
class Shapes:
    """Which of the forms seven.io's sources show the simulator answers with."""

    # The voice answer's row id: a number in docs.seven.io's example (1384013) and the
    # PHP SDK (`VoiceMessage::$id` is an int, its test asserts one), text in the JS
    # SDK (`VoiceMessage.id: string | null`).
    message_id: str = "integer"


@dataclass(frozen=True)
class Retries:
    """How seven.io delivers a webhook event again that was not taken.

    docs.seven.io/en/rest-api/webhooks, "Delivery & retries": 429, 500, 502, 503, 504,
    timeouts and connection errors are retried, any other answer is final (2xx and
    3xx count as delivered); each attempt has 5 s; up to 14 attempts, 1 min, 5 min,
    30 min, 60 min, 2 h ... apart (about 3.5 days). The page's earlier text: a timeout
    or HTTP 500 is retried, up to 6 times in total, every hour. The delay here is
    fixed and short, for tests.
    """

    attempts: int = 14
    delay: float = 0.1
    timeout: float = 5.0
    statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})

    def again(self, outcome: int | str) -> bool:
        """Return whether an attempt that ended so is made once more."""
        # Text is a timeout or a connection error: retried by both policies.
        return isinstance(outcome, str) or outcome in self.statuses


RETRY_POLICIES = {
    "current": Retries(),
    "legacy": Retries(attempts=6, statuses=frozenset({500})),
}


@dataclass(frozen=True)
class EventOptions:
    """How one control request has a call's events shaped and delivered."""

    progress_duration: Any = ""
    event_id: str = "string"
    retries: Retries = field(default_factory=Retries)


@dataclass
class Pending:
    """A validation call in progress."""

    code: str
    callback: str | None
    # The API key that asked: the number is validated for that account only.
    key: str


@dataclass
class Call:
    """A text-to-speech call placed with /api/voice."""

    call_id: str
    key: str
    sender: str
    recipient: str
    text: str
    ringtime: int | None
    foreign_id: str | None
    status: str = "placed"
    # When it was placed, as the journal shows it (seven.io's "YYYY-MM-DD hh:mm:ss").
    placed: str = field(
        default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    )
    # The final event's duration, as sent; None until then.
    duration: Any = None
    ended: bool = False
    # The statuses reported so far, in order.
    reported: list[str] = field(default_factory=list)


@dataclass
class Hook:
    """A webhook registered with /api/hooks."""

    hook_id: int
    key: str
    target_url: str
    event_type: str
    request_method: str
    event_filter: str | None
    headers: str
    created: str
    enabled: bool = True

    def as_json(self) -> dict[str, Any]:
        """Return the hook as GET /api/hooks lists it."""
        return {
            "id": str(self.hook_id),
            "target_url": self.target_url,
            "headers": self.headers,
            "event_type": self.event_type,
            "event_filter": self.event_filter,
            "request_method": self.request_method,
            "enabled": self.enabled,
            "created": self.created,
        }


@dataclass
class Simulator:
    """The simulated gateway's accounts and phone lines."""

    keys: dict[str, frozenset[str]] = field(
        default_factory=lambda: {"demo-key": ALL_SCOPES}
    )
    # Keys of one account share its hooks and caller IDs (seven.io issues several keys
    # per account, Developer > API keys): key -> account; a key not named is its own.
    accounts: dict[str, str] = field(default_factory=dict)
    credit: float = 12.34
    default_sender: str = DEFAULT_SENDER
    pending: dict[str, Pending] = field(default_factory=dict)
    # Account -> number (international digits) -> caller ID id.
    validated: dict[str, dict[str, int]] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    hooks: dict[int, Hook] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    shapes: Shapes = field(default_factory=Shapes)
    requests: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = FIRST_CALLER_ID
    next_call_id: int = FIRST_CALL_ID
    next_hook_id: int = FIRST_HOOK_ID
    session: ClientSession | None = None

    def reset(self) -> None:
        """Forget every validation, call, hook, request, fault and shape; keep the keys."""
        self.pending.clear()
        self.validated.clear()
        self.calls.clear()
        self.hooks.clear()
        self.requests.clear()
        self.callbacks.clear()
        self.events.clear()
        self.faults = Faults()
        self.shapes = Shapes()
        self.next_id = FIRST_CALLER_ID
        self.next_call_id = FIRST_CALL_ID
        self.next_hook_id = FIRST_HOOK_ID

    def account(self, key: str) -> str:
        """Return the account a key belongs to."""
        return self.accounts.get(key, key)

    def caller_id(self, key: str, sender: str) -> int | None:
        """Return the id of `sender` as a caller ID validated on `key`'s account, or None."""
        return self.validated.get(self.account(key), {}).get(sender)


SIM: web.AppKey[Simulator] = web.AppKey("simulator", Simulator)


def normalise(number: str) -> str | None:
    """Return the number as seven.io keeps it (international digits, no +), or None."""
    text = number.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        text = "+" + text
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]


def formatted(sender: str) -> str:
    """Return seven.io's `formatted_output` for a stored number."""
    return phonenumbers.format_number(
        phonenumbers.parse(f"+{sender}"), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _error(request: web.Request, code: int) -> web.Response:
    """Answer like the gateway does: HTTP 200 and a body that is only the code."""
    if _wants_json(request):
        return web.json_response(str(code))
    return web.Response(text=str(code))


def _api_key(request: web.Request) -> str | None:
    if key := request.headers.get("X-Api-Key"):
        return key
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic" and credentials:
        return credentials.strip()
    return None


async def _params(request: web.Request) -> dict[str, str]:
    """Read parameters from the query, a form body or a JSON body, as the gateway does."""
    params = dict(request.query)
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body = {}
            if isinstance(body, dict):
                params.update({k: str(v) for k, v in body.items() if v is not None})
        else:
            params.update({k: str(v) for k, v in (await request.post()).items()})
    return params


@web.middleware
async def _gateway_faults(request: web.Request, handler: Any) -> web.StreamResponse:
    """Log every gateway request and apply the injected faults to it."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    sim = request.app[SIM]
    sim.requests.append(
        {
            "method": request.method,
            "path": request.path,
            "headers": {
                name: value
                for name, value in request.headers.items()
                if name.lower()
                in {"x-api-key", "authorization", "sentwith", "accept", "content-type"}
            },
            "params": await _params(request),
        }
    )
    faults = sim.faults
    if faults.times is not None:
        if faults.times <= 0:
            return await handler(request)
        faults.times -= 1
    if faults.delay:
        await asyncio.sleep(faults.delay)
    if faults.drop and request.transport is not None:
        request.transport.close()
        return web.Response()
    if faults.status is not None:
        return web.Response(status=faults.status, text="Service Unavailable")
    if faults.malformed:
        return web.Response(text='{"success": tru', content_type="application/json")
    if faults.empty:
        return web.Response(text="")
    return await handler(request)


def _refusal(request: web.Request, scope: str) -> web.Response | None:
    """Return the gateway's error when the request's key is unknown (900) or lacks `scope` (902)."""
    keys = request.app[SIM].keys
    key = _api_key(request)
    if key is None or key not in keys:
        return _error(request, 900)
    if scope not in keys[key]:
        return _error(request, 902)
    return None


def _key(request: web.Request) -> str:
    """Return the request's API key; only call this after `_refusal` let it through."""
    return _api_key(request) or ""


async def balance(request: web.Request) -> web.Response:
    """GET /api/balance."""
    sim = request.app[SIM]
    if (refusal := _refusal(request, "balance")) is not None:
        return refusal
    if _wants_json(request):
        return web.json_response({"amount": sim.credit, "currency": "EUR"})
    return web.Response(text=f"{sim.credit:.2f}")


async def validate_for_voice(request: web.Request) -> web.Response:
    """POST /api/validate_for_voice: start a validation call, or say why not."""
    sim = request.app[SIM]
    if (refusal := _refusal(request, "validate_for_voice")) is not None:
        return refusal
    params = await _params(request)
    raw = params.get("number", "")
    sender = normalise(raw)
    if sender is None:
        return web.json_response(
            {
                "id": None,
                "sender": "".join(ch for ch in raw if ch.isdigit()),
                "formatted_output": None,
                "success": False,
                "error": "Number is invalid",
                "voice": False,
            }
        )
    key = _key(request)
    if (caller_id := sim.caller_id(key, sender)) is not None:
        return web.json_response(
            {
                "id": caller_id,
                "sender": sender,
                "formatted_output": formatted(sender),
                "success": True,
                "error": "The caller ID has already been saved.",
                "voice": True,
            }
        )
    if sim.credit <= 0:
        return _error(request, 500)
    code = f"{secrets.randbelow(1_000_000):06d}"
    sim.pending[sender] = Pending(
        code=code, callback=params.get("callback") or None, key=key
    )
    LOGGER.info("Calling %s; the code is %s", formatted(sender), code)
    return web.json_response({"success": True, "code": code, "error": None})


async def keypad(request: web.Request) -> web.Response:
    """POST /_sim/keypad {number, digits}: the person who answered types digits."""
    sim = request.app[SIM]
    params = await _params(request)
    sender = normalise(params.get("number", ""))
    if sender is None or sender not in sim.pending:
        return web.json_response(
            {"error": "no call in progress to that number"}, status=404
        )
    pending = sim.pending.pop(sender)
    success = secrets.compare_digest(params.get("digits", ""), pending.code)
    caller_id = sim.next_id
    if success:
        sim.validated.setdefault(sim.account(pending.key), {})[sender] = caller_id
        sim.next_id += 1
    result: dict[str, Any] = {"number": f"+{sender}", "validated": success}
    if pending.callback is None:
        return web.json_response(result)
    query = {
        "id": str(caller_id) if success else "",
        "sender": sender,
        "formatted_output": formatted(sender),
        "success": "1" if success else "0",
        "error": "" if success else "The code entered was wrong.",
        "voice": "1" if success else "0",
    }
    # Parameters already in the callback URL stay; seven.io's are appended.
    url = URL(pending.callback, encoded=True).extend_query(query)
    times = 2 if sim.faults.callback_twice else 1
    if sim.faults.callback_delay:
        request.app[BACKGROUND].add(
            asyncio.create_task(_call_back(sim, url, times, sim.faults.callback_delay))
        )
        result["callback"] = "scheduled"
    else:
        result["callback"] = await _call_back(sim, url, times, 0)
    return web.json_response(result)


async def _call_back(
    sim: Simulator, url: URL, times: int, delay: float
) -> list[int | str]:
    """GET the callback URL; return the status of each attempt."""
    if sim.session is None:
        raise RuntimeError("the simulator is not running")
    if delay:
        await asyncio.sleep(delay)
    statuses: list[int | str] = []
    for _ in range(times):
        try:
            async with sim.session.get(url) as response:
                statuses.append(response.status)
        except (ClientError, TimeoutError) as err:
            statuses.append(type(err).__name__)
    sim.callbacks.append({"path": url.path, "statuses": statuses})
    return statuses


async def voice(request: web.Request) -> web.Response:
    """POST /api/voice: place a text-to-speech call from a caller ID of the key's account."""
    sim = request.app[SIM]
    if (refusal := _refusal(request, "voice")) is not None:
        return refusal
    params = await _params(request)
    recipients = [to.strip() for to in params.get("to", "").split(",") if to.strip()]
    text = params.get("text", "")
    # seven.io's return codes: 301 `to` not set, 305 `text` not set, 401 text too long.
    if not recipients:
        return _error(request, 301)
    if not text:
        return _error(request, 305)
    if len(text) > MAX_TEXT:
        return _error(request, 401)
    messages: list[dict[str, Any]] = []
    for raw in recipients:
        if (row := _voice_row(sim, _key(request), params, raw)) is None:
            return _error(request, 500)
        messages.append(row)
    return web.json_response(
        {
            "success": "100" if all(row["success"] for row in messages) else "101",
            "total_price": round(float(sum(row["price"] for row in messages)), 3),
            "balance": sim.credit,
            "debug": False,
            "messages": messages,
        }
    )


def _voice_row(
    sim: Simulator, key: str, params: dict[str, str], raw: str
) -> dict[str, Any] | None:
    """Place the call to one recipient; return its answer row, or None without credit."""
    raw_sender = params.get("from", "")
    # `from` is optional (docs.seven.io/en/rest-api/endpoints/voice, the OpenAPI, the
    # SDKs' VoiceParams): seven.io then calls from a number of its own.
    sender = normalise(raw_sender) if raw_sender else sim.default_sender
    row: dict[str, Any] = {
        "id": None,
        "sender": raw_sender or sim.default_sender,
        "recipient": raw,
        "text": params.get("text", ""),
        "price": 0,
        "success": False,
        "error": None,
        "error_text": None,
    }
    recipient = normalise(raw)
    if recipient is None:
        return row | {"error": "202", "error_text": "Invalid recipient"}
    row["recipient"] = recipient
    if sender is None or (raw_sender and sim.caller_id(key, sender) is None):
        # seven.io only calls from caller IDs validated on this account.
        return row | {
            "error": "201",
            "error_text": "Invalid sender: not a caller ID verified for this account",
        }
    if (call_id := _place_call(sim, key, params, sender, recipient)) is None:
        return None
    return row | {
        "id": int(call_id) if sim.shapes.message_id == "integer" else call_id,
        "sender": sender,
        "price": PRICE_PER_MINUTE,
        "success": True,
    }


def _place_call(
    sim: Simulator, key: str, params: dict[str, str], sender: str, recipient: str
) -> str | None:
    """Charge the account and keep the call; return its id, or None without credit."""
    if sim.credit < PRICE_PER_MINUTE:
        return None
    call_id = str(sim.next_call_id)
    sim.next_call_id += 1
    sim.credit = round(sim.credit - PRICE_PER_MINUTE, 3)
    ringtime = params.get("ringtime", "")
    sim.calls[call_id] = Call(
        call_id=call_id,
        key=key,
        sender=sender,
        recipient=recipient,
        text=params.get("text", ""),
        ringtime=int(ringtime) if ringtime.isdigit() else None,
        foreign_id=params.get("foreign_id") or None,
    )
    LOGGER.info("Calling %s from %s", formatted(recipient), formatted(sender))
    return call_id


async def hooks(request: web.Request) -> web.Response:
    """GET, POST, DELETE /api/hooks: list, create and delete the key's webhooks."""
    sim = request.app[SIM]
    if (refusal := _refusal(request, "hooks")) is not None:
        return refusal
    key = _key(request)
    params = await _params(request)
    default = {"GET": "read", "POST": "subscribe", "DELETE": "unsubscribe"}
    action = params.get("action") or default.get(request.method)
    if action == "read":
        return web.json_response(
            {
                "success": True,
                "code": None,
                "hooks": [
                    h.as_json()
                    for h in sim.hooks.values()
                    if sim.account(h.key) == sim.account(key)
                ],
            }
        )
    if action == "subscribe":
        return _subscribe(sim, key, params)
    if action == "unsubscribe":
        hook_id = params.get("id", "")
        hook = sim.hooks.get(int(hook_id)) if hook_id.isdigit() else None
        if hook is None or sim.account(hook.key) != sim.account(key):
            return web.json_response(
                {"success": False, "error_message": "Webhook not found."}
            )
        del sim.hooks[hook.hook_id]
        return web.json_response({"success": True})
    return web.json_response({"success": False, "error_message": "Unknown action."})


def _subscribe(sim: Simulator, key: str, params: dict[str, str]) -> web.Response:
    """Create a webhook, or say why not."""
    target = URL(params.get("target_url", ""))
    event_type = params.get("event_type", "")
    request_method = params.get("request_method") or "POST"
    if not target.is_absolute() or target.scheme not in {"http", "https"}:
        message = "The target URL is invalid."
    elif event_type not in HOOK_EVENT_TYPES:
        message = "The event type is invalid."
    elif request_method not in HOOK_REQUEST_METHODS:
        message = "The request method is invalid."
    else:
        hook = Hook(
            hook_id=sim.next_hook_id,
            key=key,
            target_url=str(target),
            event_type=event_type,
            request_method=request_method,
            event_filter=params.get("event_filter") or None,
            headers=params.get("headers", ""),
            created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        )
        sim.hooks[hook.hook_id] = hook
        sim.next_hook_id += 1
        return web.json_response({"success": True, "id": hook.hook_id})
    return web.json_response({"success": False, "error_message": message})


def _not_open(call: Call | None) -> web.Response | None:
    """Return the control API's refusal for a call it cannot report on, if it is one."""
    if call is None:
        return web.json_response({"error": "no such call"}, status=404)
    if call.ended:
        return web.json_response({"error": "the call has ended"}, status=409)
    return None


async def progress(request: web.Request) -> web.Response:
    """POST /_sim/progress {call_id, sequence?}: report how a call goes, not its end."""
    body = await _control_body(request)
    call = request.app[SIM].calls.get(str(body.get("call_id", "")))
    if (refused := _not_open(call)) is not None:
        return refused
    try:
        options = _event_options(body)
        sequence = _sequence(body, _not_reported(call, PROGRESS[:2]))
    except (TypeError, ValueError) as err:
        return web.json_response({"error": str(err)}, status=400)
    updates = [(status, options.progress_duration) for status in sequence]
    reported = await _report_or_schedule(request, call, updates, options)
    return web.json_response(
        {
            "call_id": call.call_id,
            "updates": "scheduled" if reported is None else reported,
        }
    )


async def hang_up(request: web.Request) -> web.Response:
    """POST /api/voice/{call_id}/hangup: end a call of the key's account that goes on.

    The OpenAPI's answer is `{success, error}`; "only calls with the status in-progress
    can be ended" (its words; a call still ringing is ended too here, as Twilio's
    hang-up does). Then the call reports its end: `completed` with its duration once
    it was answered (`in-progress` reported), else `canceled`.
    """
    sim = request.app[SIM]
    if (refusal := _refusal(request, "voice")) is not None:
        return refusal
    call = sim.calls.get(request.match_info["call_id"])
    if call is None or sim.account(call.key) != sim.account(_key(request)):
        return web.json_response({"success": False, "error": "Call not found"})
    if call.ended:
        return web.json_response({"success": False, "error": "Call is not active"})
    call.ended = True
    answered = "in-progress" in call.reported
    call.duration = "12" if answered else ""
    updates = [("completed" if answered else "canceled", call.duration)]
    await _report_or_schedule(request, call, updates, _event_options({}))
    return web.json_response({"success": True, "error": ""})


async def voice_journal(request: web.Request) -> web.Response:
    """GET /api/journal/voice: the key's account's calls, newest first, at most `limit`.

    Rows as the OpenAPI's JournalBase and JournalVoice show them: every field text
    (`xml` a boolean); `duration` empty and `status` the last one until the call ends.
    """
    sim = request.app[SIM]
    if (refusal := _refusal(request, "journal")) is not None:
        return refusal
    limit = min(max(int(request.query.get("limit") or 100), 1), 100)
    account = sim.account(_key(request))
    calls = [c for c in sim.calls.values() if sim.account(c.key) == account]
    rows = [
        {
            "id": call.call_id,
            "from": call.sender,
            "to": call.recipient,
            "text": call.text,
            "timestamp": call.placed,
            "price": f"{PRICE_PER_MINUTE:.4f}",
            "xml": False,
            "duration": "" if call.duration in (None, "") else str(call.duration),
            "status": call.status if call.status != "placed" else "",
            "error": "",
        }
        for call in reversed(calls)
    ]
    return web.json_response(rows[:limit])


async def analytics_by_date(request: web.Request) -> web.Response:
    """GET /api/analytics/date (`start`, `end`): per day with calls, their count and cost.

    Rows as the OpenAPI's AnalyticsBase shows them (`usage_eur` a number); a call counts
    on the day (UTC) it was placed; `start` defaults to 30 days ago, `end` to today.
    """
    sim = request.app[SIM]
    if (refusal := _refusal(request, "analytics")) is not None:
        return refusal
    today = datetime.now(UTC).date()
    start = request.query.get("start") or (today - timedelta(days=30)).isoformat()
    end = request.query.get("end") or today.isoformat()
    account = sim.account(_key(request))
    days: dict[str, int] = {}
    for call in sim.calls.values():
        day = call.placed[:10]
        if sim.account(call.key) == account and start <= day <= end:
            days[day] = days.get(day, 0) + 1
    rows = [
        {"date": day, "sms": 0, "rcs": 0, "voice": count, "hlr": 0, "mnp": 0}
        | {"inbound": 0, "usage_eur": round(count * PRICE_PER_MINUTE, 4)}
        for day, count in sorted(days.items())
    ]
    return web.json_response(rows)


async def end_call(request: web.Request) -> web.Response:
    """POST /_sim/end_call {call_id, status?, duration?, sequence?}: end a call."""
    body = await _control_body(request)
    call = request.app[SIM].calls.get(str(body.get("call_id", "")))
    if (refused := _not_open(call)) is not None:
        return refused
    final = str(body.get("status") or ANSWERED)
    try:
        options = _event_options(body)
        # Answered calls report `in-progress` before they end; the others do not.
        documented = PROGRESS if final == ANSWERED else PROGRESS[:2]
        sequence = _sequence(body, _not_reported(call, documented))
    except (TypeError, ValueError) as err:
        return web.json_response({"error": str(err)}, status=400)
    # Before the first await: an end_call meanwhile is refused, not sent twice.
    call.ended = True
    call.duration = body.get("duration", "0")
    if body.get("drop"):
        # The events are lost (Home Assistant down past seven.io's retries): only
        # the journal knows how the call ended.
        call.status = final
        return web.json_response({"call_id": call.call_id, "status": final})
    updates = [(status, options.progress_duration) for status in sequence]
    updates.append((final, call.duration))
    reported = await _report_or_schedule(request, call, updates, options)
    result: dict[str, Any] = {"call_id": call.call_id, "status": final}
    if reported is None:
        return web.json_response(
            result | {"updates": "scheduled", "events": "scheduled"}
        )
    return web.json_response(
        result | {"updates": reported[:-1], "events": reported[-1]["events"]}
    )


async def _control_body(request: web.Request) -> dict[str, Any]:
    """Read a control request: a JSON object as sent (null, numbers), else parameters."""
    if request.content_type == "application/json" and request.body_exists:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            return dict(request.query) | body
    return dict(await _params(request))


def _event_options(body: dict[str, Any]) -> EventOptions:
    """Read how the events of a control request are shaped and retried."""
    shape = body.get("progress_duration", "empty")
    event_id = body.get("event_id", "string")
    policy = body.get("retry_policy", "current")
    if (
        shape not in PROGRESS_DURATIONS
        or event_id not in ID_FORMS
        or policy not in RETRY_POLICIES
    ):
        raise ValueError("unknown progress_duration, event_id or retry_policy")
    base = RETRY_POLICIES[policy]
    retries = replace(
        base,
        attempts=int(body.get("attempts", base.attempts)),
        delay=float(body.get("retry_delay", base.delay)),
        timeout=float(body.get("attempt_timeout", base.timeout)),
    )
    if retries.attempts < 1 or retries.delay < 0 or retries.timeout <= 0:
        raise ValueError("attempts, retry_delay or attempt_timeout out of range")
    return EventOptions(PROGRESS_DURATIONS[shape], event_id, retries)


def _sequence(body: dict[str, Any], default: list[str]) -> list[str]:
    """Return the progress statuses asked for (a list, or comma-separated text)."""
    sequence = body.get("sequence", default)
    if isinstance(sequence, str):
        sequence = [status for status in sequence.split(",") if status]
    if not isinstance(sequence, list) or not all(
        isinstance(status, str) and status for status in sequence
    ):
        raise ValueError("sequence must be a list of statuses")
    return sequence


def _not_reported(call: Call, statuses: tuple[str, ...]) -> list[str]:
    return [status for status in statuses if status not in call.reported]


async def _report_or_schedule(
    request: web.Request,
    call: Call,
    updates: list[tuple[str, Any]],
    options: EventOptions,
) -> list[dict[str, Any]] | None:
    """Report the call's statuses now, or later with `callback_delay` (then None)."""
    sim = request.app[SIM]
    if not sim.faults.callback_delay:
        return await _report(sim, call, updates, options)
    background = request.app[BACKGROUND]
    task = asyncio.create_task(
        _report(sim, call, updates, options, delay=sim.faults.callback_delay)
    )
    background.add(task)
    task.add_done_callback(background.discard)
    return None


async def _report(
    sim: Simulator,
    call: Call,
    updates: list[tuple[str, Any]],
    options: EventOptions,
    *,
    delay: float = 0,
) -> list[dict[str, Any]]:
    """Send each (status, duration) in turn to the account's hooks; return their answers."""
    if delay:
        await asyncio.sleep(delay)
    reported = []
    for status, duration in updates:
        call.status = status
        call.reported.append(status)
        event = _status_event(call, status, duration, options.event_id)
        targets = [
            hook
            for hook in sim.hooks.values()
            if sim.account(hook.key) == sim.account(call.key)
            and hook.enabled
            and hook.event_type in {"voice_status", "all"}
        ]
        # Each hook gets the event on its own: one that fails does not hold the others.
        answers = await asyncio.gather(
            *(_send_event(sim, hook, event, options.retries) for hook in targets)
        )
        events = {
            str(hook.hook_id): a for hook, a in zip(targets, answers, strict=True)
        }
        reported.append({"status": status, "events": events})
    return reported


def _status_event(
    call: Call, status: str, duration: Any, event_id: str
) -> dict[str, Any]:
    """Return the voice_status event (JS SDK `VoiceStatusChangePayload`) of one status."""
    data: dict[str, Any] = {
        "id": int(call.call_id) if event_id == "integer" else call.call_id,
        "callerId": call.sender,
        "recipient": call.recipient,
        "status": status,
        "duration": duration,
        "pricePerMinute": PRICE_PER_MINUTE,
        "timestamp": int(time.time()),
    }
    if duration is ABSENT:
        del data["duration"]
    if call.foreign_id is not None:
        data["foreign_id"] = call.foreign_id
    return {
        "webhook_event": "voice_status",
        "webhook_timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "data": data,
    }


async def _send_event(
    sim: Simulator, hook: Hook, event: dict[str, Any], retries: Retries
) -> list[int | str]:
    """POST a webhook event as JSON to the hook, as seven.io retries it; return each status."""
    if sim.session is None:
        raise RuntimeError("the simulator is not running")
    headers = {}
    for line in hook.headers.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers[name.strip()] = value.strip()
    statuses: list[int | str] = []
    # Listed before the first attempt, so that the attempts show while they are made.
    sim.events.append(
        {
            "hook_id": str(hook.hook_id),
            "path": URL(hook.target_url).path,
            "event": event,
            "statuses": statuses,
        }
    )
    for _ in range(2 if sim.faults.callback_twice else 1):
        for attempt in range(retries.attempts):
            if attempt:
                await asyncio.sleep(retries.delay)
            statuses.append(
                await _attempt(sim.session, hook, event, headers, retries.timeout)
            )
            if not retries.again(statuses[-1]):
                break
    return statuses


async def _attempt(
    session: ClientSession,
    hook: Hook,
    event: dict[str, Any],
    headers: dict[str, str],
    timeout: float,
) -> int | str:
    """Make one delivery attempt; return the HTTP status, or the error's name."""
    try:
        async with session.post(
            hook.target_url,
            json=event,
            headers=headers,
            timeout=ClientTimeout(total=timeout),
            # A 3xx counts as delivered: seven.io does not follow it.
            allow_redirects=False,
        ) as response:
            return response.status
    except (ClientError, TimeoutError) as err:
        return type(err).__name__


async def set_faults(request: web.Request) -> web.Response:
    """POST /_sim/faults: replace the injected faults (JSON object of Faults fields)."""
    sim = request.app[SIM]
    try:
        sim.faults = Faults(**await request.json())
    except (TypeError, ValueError) as err:
        return web.json_response({"error": str(err)}, status=400)
    return web.json_response({"faults": sim.faults.__dict__})


async def set_account(request: web.Request) -> web.Response:
    """POST /_sim/account {key?, scopes?, account?, credit?, default_sender?}.

    Adds or changes a key (of the account of the key `account`, else one of its own).
    """
    sim = request.app[SIM]
    body = await request.json()
    if "key" in body:
        sim.keys[body["key"]] = frozenset(body.get("scopes", ALL_SCOPES))
        if "account" in body:
            sim.accounts[body["key"]] = sim.account(str(body["account"]))
    if "credit" in body:
        sim.credit = float(body["credit"])
    if "default_sender" in body:
        if (sender := normalise(str(body["default_sender"]))) is None:
            return web.json_response({"error": "not a phone number"}, status=400)
        sim.default_sender = sender
    return web.json_response(
        {
            "keys": len(sim.keys),
            "credit": sim.credit,
            "default_sender": sim.default_sender,
        }
    )


async def set_shapes(request: web.Request) -> web.Response:
    """POST /_sim/shapes {message_id}: pick the form of fields sources disagree on."""
    sim = request.app[SIM]
    body = await request.json()
    if not isinstance(body, dict) or body.get("message_id") not in ID_FORMS:
        return web.json_response(
            {"error": 'message_id must be "integer" or "string"'}, status=400
        )
    sim.shapes = Shapes(message_id=body["message_id"])
    return web.json_response({"shapes": sim.shapes.__dict__})


async def reset(request: web.Request) -> web.Response:
    """POST /_sim/reset."""
    request.app[SIM].reset()
    return web.json_response({"reset": True})


async def state(request: web.Request) -> web.Response:
    """GET /_sim/state: what the simulator has seen and holds."""
    sim = request.app[SIM]
    return web.json_response(
        {
            "pending": {f"+{number}": p.code for number, p in sim.pending.items()},
            # Every account's numbers, as before accounts were told apart.
            "validated": {
                f"+{number}": caller_id
                for numbers in sim.validated.values()
                for number, caller_id in numbers.items()
            },
            "validated_by_account": {
                account: {
                    f"+{number}": caller_id for number, caller_id in numbers.items()
                }
                for account, numbers in sim.validated.items()
            },
            "calls": {call_id: call.__dict__ for call_id, call in sim.calls.items()},
            "hooks": [
                hook.as_json() | {"key": hook.key} for hook in sim.hooks.values()
            ],
            "requests": sim.requests,
            "callbacks": sim.callbacks,
            "events": sim.events,
        }
    )


BACKGROUND: web.AppKey[set[asyncio.Task[Any]]] = web.AppKey("background", set)


def create_app(simulator: Simulator | None = None) -> web.Application:
    """Return the simulator's aiohttp application."""
    app = web.Application(middlewares=[_gateway_faults])
    app[SIM] = simulator or Simulator()
    app[BACKGROUND] = set()

    async def session_ctx(app: web.Application) -> Any:
        app[SIM].session = ClientSession(timeout=ClientTimeout(total=10))
        yield
        for task in app[BACKGROUND]:
            task.cancel()
        await app[SIM].session.close()

    app.cleanup_ctx.append(session_ctx)
    app.router.add_get("/api/balance", balance)
    app.router.add_route("*", "/api/validate_for_voice", validate_for_voice)
    app.router.add_post("/api/voice", voice)
    app.router.add_post("/api/voice/{call_id}/hangup", hang_up)
    app.router.add_get("/api/journal/voice", voice_journal)
    app.router.add_get("/api/analytics/date", analytics_by_date)
    app.router.add_route("*", "/api/hooks", hooks)
    app.router.add_post("/_sim/keypad", keypad)
    app.router.add_post("/_sim/progress", progress)
    app.router.add_post("/_sim/end_call", end_call)
    app.router.add_post("/_sim/faults", set_faults)
    app.router.add_post("/_sim/account", set_account)
    app.router.add_post("/_sim/shapes", set_shapes)
    app.router.add_post("/_sim/reset", reset)
    app.router.add_get("/_sim/state", state)
    return app


def main() -> None:
    """Run the simulator: python -m callerid_dev.gateway_sim --host 127.0.0.1 --port 8765."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--key",
        action="append",
        help="API key the simulator accepts, optionally KEY:scope,scope (default: demo-key)",
    )
    parser.add_argument("--credit", type=float, default=12.34)
    args = parser.parse_args()
    keys = {"demo-key": ALL_SCOPES}
    if args.key:
        keys = {}
        for spec in args.key:
            key, _, scopes = spec.partition(":")
            keys[key] = frozenset(scopes.split(",")) if scopes else ALL_SCOPES
    logging.basicConfig(level=logging.INFO, format="gateway-sim: %(message)s")
    print(
        json.dumps(
            {"base_url": f"http://{args.host}:{args.port}/api", "keys": sorted(keys)}
        ),
        flush=True,
    )
    web.run_app(
        create_app(Simulator(keys=keys, credit=args.credit)),
        host=args.host,
        port=args.port,
        print=None,
    )


if __name__ == "__main__":
    main()
