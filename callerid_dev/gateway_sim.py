"""A local stand-in for the seven.io gateway, as far as caller ID validation goes.

It answers `POST /api/validate_for_voice` and `GET /api/balance` the way seven.io
documents, "rings" a number by keeping its code until someone types it on the keypad
(`POST /_sim/keypad`), then calls the callback URL with seven.io's parameters.
Control endpoints under `/_sim/` inject faults and show what happened.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
import json
import logging
import secrets
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web
import phonenumbers
from yarl import URL

LOGGER = logging.getLogger(__name__)
ALL_SCOPES = frozenset({"balance", "validate_for_voice", "voice"})
FIRST_CALLER_ID = 12345


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


@dataclass
class Simulator:
    """The simulated gateway's accounts and phone lines."""

    keys: dict[str, frozenset[str]] = field(
        default_factory=lambda: {"demo-key": ALL_SCOPES}
    )
    credit: float = 12.34
    pending: dict[str, Pending] = field(default_factory=dict)
    validated: dict[str, int] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    requests: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = FIRST_CALLER_ID
    session: ClientSession | None = None

    def reset(self) -> None:
        """Forget every validation, request and fault; keep the keys."""
        self.pending.clear()
        self.validated.clear()
        self.requests.clear()
        self.callbacks.clear()
        self.faults = Faults()
        self.next_id = FIRST_CALLER_ID


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
    if sender in sim.validated:
        return web.json_response(
            {
                "id": sim.validated[sender],
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
    sim.pending[sender] = Pending(code=code, callback=params.get("callback") or None)
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
    if success:
        sim.validated[sender] = sim.next_id
        sim.next_id += 1
    result: dict[str, Any] = {"number": f"+{sender}", "validated": success}
    if pending.callback is None:
        return web.json_response(result)
    query = {
        "id": str(sim.validated[sender]) if success else "",
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
            "validated": {
                f"+{number}": caller_id for number, caller_id in sim.validated.items()
            },
            "requests": sim.requests,
            "callbacks": sim.callbacks,
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
    app.router.add_post("/_sim/keypad", keypad)
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
