"""A local stand-in for the seven.io gateway, as far as caller IDs and voice calls go.

Gateway endpoints (each API key is an account of its own, with its scopes):
- `GET /api/balance`.
- `POST /api/validate_for_voice`: "rings" a number by keeping its code until someone
  types it on the keypad (`POST /_sim/keypad`), then calls the callback URL with
  seven.io's parameters. A validated number belongs to the key that validated it.
- `POST /api/voice` (`to`, `text`, `from`, `ringtime`, `foreign_id`): places a
  text-to-speech call and answers with seven.io's JSON (`success` "100", `total_price`,
  `balance`, `debug`, one `messages` row per recipient). A `from` that is not a caller
  ID validated on the same key gets a row with `success` false and error 201.
  Missing `to`/`text` answer 301/305, a text over 10,000 characters 401, no credit 500.
- `/api/hooks`: `GET` lists the key's hooks (`{"success", "code", "hooks"}`), `POST`
  (`target_url`, `event_type`, `request_method`, `event_filter`, `headers`) creates
  one (`{"success": true, "id": 42}`), `DELETE` (`id`) removes one. The older
  `action=read|subscribe|unsubscribe` parameter is accepted too.
All of them answer 900 for an unknown key and 902 for a key without the scope
(`balance`, `validate_for_voice`, `voice`, `hooks`), and the injected faults apply.

Control endpoints under `/_sim/`:
- `POST /_sim/keypad {number, digits}`: the person called for a validation types digits.
- `POST /_sim/end_call {call_id, status?, duration?}`: ends a placed call and POSTs a
  `voice_status` event (JSON, `foreign_id` in `data` when the call had one) to every
  enabled `voice_status` or `all` hook of the call's key, whatever the hook's
  `request_method`; `callback_twice` and `callback_delay` apply to these deliveries.
- `POST /_sim/faults`, `POST /_sim/account`, `POST /_sim/reset`, and `GET /_sim/state`
  (requests, validations, calls, hooks, callbacks and events delivered).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import logging
import secrets
import time
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web
import phonenumbers
from yarl import URL

LOGGER = logging.getLogger(__name__)
ALL_SCOPES = frozenset({"balance", "validate_for_voice", "voice", "hooks"})
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
    duration: str | None = None


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
    credit: float = 12.34
    pending: dict[str, Pending] = field(default_factory=dict)
    # API key -> number (international digits) -> caller ID id.
    validated: dict[str, dict[str, int]] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    hooks: dict[int, Hook] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    requests: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = FIRST_CALLER_ID
    next_call_id: int = FIRST_CALL_ID
    next_hook_id: int = FIRST_HOOK_ID
    session: ClientSession | None = None

    def reset(self) -> None:
        """Forget every validation, call, hook, request and fault; keep the keys."""
        self.pending.clear()
        self.validated.clear()
        self.calls.clear()
        self.hooks.clear()
        self.requests.clear()
        self.callbacks.clear()
        self.events.clear()
        self.faults = Faults()
        self.next_id = FIRST_CALLER_ID
        self.next_call_id = FIRST_CALL_ID
        self.next_hook_id = FIRST_HOOK_ID

    def caller_id(self, key: str, sender: str) -> int | None:
        """Return the id of `sender` as a caller ID validated on `key`'s account, or None."""
        return self.validated.get(key, {}).get(sender)


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
        sim.validated.setdefault(pending.key, {})[sender] = caller_id
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
    key = _key(request)
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
    raw_sender = params.get("from", "")
    sender = normalise(raw_sender) if raw_sender else None
    ringtime = params.get("ringtime")
    foreign_id = params.get("foreign_id") or None
    messages: list[dict[str, Any]] = []
    total = 0.0
    for raw in recipients:
        row: dict[str, Any] = {
            "id": None,
            "sender": raw_sender,
            "recipient": raw,
            "text": text,
            "price": 0,
            "success": False,
            "error": None,
            "error_text": None,
        }
        messages.append(row)
        recipient = normalise(raw)
        if recipient is None:
            row |= {"error": "202", "error_text": "Invalid recipient"}
            continue
        row["recipient"] = recipient
        if sender is None or sim.caller_id(key, sender) is None:
            # seven.io only calls from caller IDs validated on this account.
            row |= {
                "error": "201",
                "error_text": "Invalid sender: not a caller ID verified for this account",
            }
            continue
        if sim.credit < PRICE_PER_MINUTE:
            return _error(request, 500)
        call_id = str(sim.next_call_id)
        sim.next_call_id += 1
        sim.credit = round(sim.credit - PRICE_PER_MINUTE, 3)
        total += PRICE_PER_MINUTE
        sim.calls[call_id] = Call(
            call_id=call_id,
            key=key,
            sender=sender,
            recipient=recipient,
            text=text,
            ringtime=int(ringtime) if ringtime and ringtime.isdigit() else None,
            foreign_id=foreign_id,
        )
        row |= {
            "id": call_id,
            "sender": sender,
            "price": PRICE_PER_MINUTE,
            "success": True,
        }
        LOGGER.info("Calling %s from %s", formatted(recipient), formatted(sender))
    return web.json_response(
        {
            "success": "100" if all(row["success"] for row in messages) else "101",
            "total_price": round(total, 3),
            "balance": sim.credit,
            "debug": False,
            "messages": messages,
        }
    )


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
                "hooks": [h.as_json() for h in sim.hooks.values() if h.key == key],
            }
        )
    if action == "subscribe":
        return _subscribe(sim, key, params)
    if action == "unsubscribe":
        hook_id = params.get("id", "")
        hook = sim.hooks.get(int(hook_id)) if hook_id.isdigit() else None
        if hook is None or hook.key != key:
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


async def end_call(request: web.Request) -> web.Response:
    """POST /_sim/end_call {call_id, status?, duration?}: end a call, send voice_status."""
    sim = request.app[SIM]
    params = await _params(request)
    call = sim.calls.get(params.get("call_id", ""))
    if call is None:
        return web.json_response({"error": "no such call"}, status=404)
    if call.duration is not None:
        return web.json_response({"error": "the call has ended"}, status=409)
    call.status = params.get("status") or "completed"
    call.duration = params.get("duration") or "0"
    data: dict[str, Any] = {
        "id": call.call_id,
        "callerId": call.sender,
        "recipient": call.recipient,
        "status": call.status,
        "duration": call.duration,
        "pricePerMinute": PRICE_PER_MINUTE,
        "timestamp": int(time.time()),
    }
    if call.foreign_id is not None:
        data["foreign_id"] = call.foreign_id
    event = {
        "webhook_event": "voice_status",
        "webhook_timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "data": data,
    }
    targets = [
        hook
        for hook in sim.hooks.values()
        if hook.key == call.key
        and hook.enabled
        and hook.event_type in {"voice_status", "all"}
    ]
    times = 2 if sim.faults.callback_twice else 1
    result: dict[str, Any] = {"call_id": call.call_id, "status": call.status}
    if sim.faults.callback_delay:
        for hook in targets:
            request.app[BACKGROUND].add(
                asyncio.create_task(
                    _send_event(sim, hook, event, times, sim.faults.callback_delay)
                )
            )
        result["events"] = "scheduled"
    else:
        result["events"] = {
            str(hook.hook_id): await _send_event(sim, hook, event, times, 0)
            for hook in targets
        }
    return web.json_response(result)


async def _send_event(
    sim: Simulator, hook: Hook, event: dict[str, Any], times: int, delay: float
) -> list[int | str]:
    """POST a webhook event as JSON to the hook, with its headers; return each status."""
    if sim.session is None:
        raise RuntimeError("the simulator is not running")
    if delay:
        await asyncio.sleep(delay)
    headers = {}
    for line in hook.headers.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers[name.strip()] = value.strip()
    statuses: list[int | str] = []
    for _ in range(times):
        try:
            async with sim.session.post(
                hook.target_url, json=event, headers=headers
            ) as response:
                statuses.append(response.status)
        except (ClientError, TimeoutError) as err:
            statuses.append(type(err).__name__)
    sim.events.append(
        {
            "hook_id": str(hook.hook_id),
            "path": URL(hook.target_url).path,
            "event": event,
            "statuses": statuses,
        }
    )
    return statuses


async def set_faults(request: web.Request) -> web.Response:
    """POST /_sim/faults: replace the injected faults (JSON object of Faults fields)."""
    sim = request.app[SIM]
    try:
        sim.faults = Faults(**await request.json())
    except (TypeError, ValueError) as err:
        return web.json_response({"error": str(err)}, status=400)
    return web.json_response({"faults": sim.faults.__dict__})


async def set_account(request: web.Request) -> web.Response:
    """POST /_sim/account {key, scopes?, credit?}: add or change a key, or the credit."""
    sim = request.app[SIM]
    body = await request.json()
    if "key" in body:
        sim.keys[body["key"]] = frozenset(body.get("scopes", ALL_SCOPES))
    if "credit" in body:
        sim.credit = float(body["credit"])
    return web.json_response({"keys": len(sim.keys), "credit": sim.credit})


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
            "validated_by_key": {
                key: {f"+{number}": caller_id for number, caller_id in numbers.items()}
                for key, numbers in sim.validated.items()
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
    app.router.add_route("*", "/api/hooks", hooks)
    app.router.add_post("/_sim/keypad", keypad)
    app.router.add_post("/_sim/end_call", end_call)
    app.router.add_post("/_sim/faults", set_faults)
    app.router.add_post("/_sim/account", set_account)
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
