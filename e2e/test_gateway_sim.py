"""The gateway simulator answers as seven.io documents, checked with the real client.

These run with the e2e suite: they use real HTTP on loopback and need none of
Home Assistant's test harness.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import copy
from datetime import UTC, datetime
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
import jsonschema
import pytest
from yarl import URL

from callerid_dev.gateway_sim import ALL_SCOPES, PRICE_PER_MINUTE, Simulator
from callerid_dev.harness import free_port, simulator_server
from custom_components.callerid.api import (
    AlreadyValidated,
    Balance,
    Hook,
    SevenApiError,
    SevenAuthenticationError,
    SevenClient,
    SevenConnectionError,
    SevenInvalidNumberError,
    SevenMissingScopeError,
    ValidationStarted,
)

OPENAPI = json.loads((Path(__file__).parent / "seven-api" / "openapi.json").read_text())
NUMBER = "+4917612345678"


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """Run a callback receiver on loopback; yield its URL and the requests it got."""
    received: list[web.Request] = []

    async def handle(request: web.Request) -> web.Response:
        # Read the body while the request lasts; it is kept for the test to look at.
        await request.read()
        received.append(request)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/hook", received
    await runner.cleanup()


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[Simulator, str, aiohttp.ClientSession]]:
    """Run the simulator; yield it, its base URL and a session."""
    port = free_port()
    async with (
        simulator_server(port) as sim,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
    ):
        yield sim, f"http://127.0.0.1:{port}", session


def client(
    gateway: tuple[Simulator, str, aiohttp.ClientSession],
    key: str = "demo-key",
    timeout: float = 10,
) -> SevenClient:
    """Return the integration's client pointed at the simulator."""
    _, url, session = gateway
    return SevenClient(session, key, base_url=f"{url}/api", timeout=timeout)


async def keypad(
    gateway: tuple[Simulator, str, aiohttp.ClientSession], number: str, digits: str
) -> tuple[int, dict[str, Any]]:
    """Type digits; return HTTP status and JSON."""
    _, url, session = gateway
    async with session.post(
        f"{url}/_sim/keypad", json={"number": number, "digits": digits}
    ) as response:
        return response.status, await response.json()


async def test_requests_and_answers_match_openapi(gateway: Any, receiver: Any) -> None:
    """What the client sends and the simulator answers fits seven.io's OpenAPI description."""
    sim = gateway[0]
    hook, _ = receiver
    await client(gateway).validate_for_voice(NUMBER, callback=f"{hook}?token=abc")
    request = sim.requests[-1]
    operation = OPENAPI["paths"]["/validate_for_voice"]["post"]
    (content_type,) = operation["requestBody"]["content"]
    assert request["headers"]["Content-Type"] == content_type
    schema = operation["requestBody"]["content"][content_type]["schema"]
    jsonschema.validate(
        request["params"], schema, format_checker=jsonschema.FormatChecker()
    )
    assert request["method"].lower() == "post"

    _, url, session = gateway
    async with session.get(
        f"{url}/api/balance",
        headers={"X-Api-Key": "demo-key", "Accept": "application/json"},
    ) as response:
        body = await response.json()
    balance_schema = OPENAPI["paths"]["/balance"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    jsonschema.validate(body, balance_schema)
    assert set(body) == {"amount", "currency"}


async def test_balance_and_keys(gateway: Any) -> None:
    """Keys are checked; a key without the balance scope gets 902."""
    sim, url, session = gateway
    assert await client(gateway).balance() == Balance(12.34, "EUR")
    with pytest.raises(SevenAuthenticationError):
        await client(gateway, key="wrong").balance()
    sim.keys["voice-only"] = frozenset({"validate_for_voice"})
    with pytest.raises(SevenMissingScopeError):
        await client(gateway, key="voice-only").balance()
    # Basic authentication with the raw key, and the plain-number balance.
    async with session.get(
        f"{url}/api/balance", headers={"Authorization": "basic demo-key"}
    ) as response:
        assert await response.text() == "12.34"
    async with session.get(
        f"{url}/api/balance", headers={"Accept": "application/json"}
    ) as response:
        assert await response.json() == "900"


async def test_validation_call_and_callback(gateway: Any, receiver: Any) -> None:
    """A code, the right digits, a callback with seven.io's parameters; then "already validated"."""
    hook, received = receiver
    result = await client(gateway).validate_for_voice(
        NUMBER, callback=f"{hook}?token=abc"
    )
    assert isinstance(result, ValidationStarted)
    assert len(result.code) == 6

    status, answer = await keypad(gateway, "0049 176 1234 5678", result.code)
    assert status == 200
    assert answer == {"number": NUMBER, "validated": True, "callback": [200]}
    (request,) = received
    assert request.method == "GET"
    assert dict(request.query) == {
        "token": "abc",
        "id": "12345",
        "sender": "4917612345678",
        "formatted_output": "+49 176 12345678",
        "success": "1",
        "error": "",
        "voice": "1",
    }
    assert await client(gateway).validate_for_voice(NUMBER) == AlreadyValidated(
        caller_id=12345, voice=True
    )


async def test_wrong_code_fails_and_ends_the_call(gateway: Any, receiver: Any) -> None:
    """Wrong digits call back with success=0; the call is over."""
    hook, received = receiver
    result = await client(gateway).validate_for_voice(NUMBER, callback=hook)
    assert isinstance(result, ValidationStarted)
    wrong = "000000" if result.code != "000000" else "111111"
    status, answer = await keypad(gateway, NUMBER, wrong)
    assert (status, answer["validated"]) == (200, False)
    assert received[0].query["success"] == "0"
    assert received[0].query["voice"] == "0"
    assert received[0].query["error"]
    assert (await keypad(gateway, NUMBER, result.code))[0] == 404


async def test_invalid_number_and_credit(gateway: Any) -> None:
    """An invalid number is refused; without credit, code 500."""
    sim = gateway[0]
    with pytest.raises(SevenInvalidNumberError, match="Number is invalid"):
        await client(gateway).validate_for_voice("12")
    sim.credit = 0
    with pytest.raises(SevenApiError) as raised:
        await client(gateway).validate_for_voice(NUMBER)
    assert raised.value.code == "500"


@pytest.mark.parametrize("how", ["json", "query"])
async def test_json_and_query_parameters(gateway: Any, how: str) -> None:
    """The gateway tolerates JSON bodies and query parameters too."""
    _, url, session = gateway
    kwargs: dict[str, Any] = (
        {"json": {"number": NUMBER}}
        if how == "json"
        else {"params": {"number": NUMBER}}
    )
    async with session.post(
        f"{url}/api/validate_for_voice", headers={"X-Api-Key": "demo-key"}, **kwargs
    ) as response:
        body = await response.json()
    assert body["success"] is True
    assert len(body["code"]) == 6


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ({"status": 503}, SevenConnectionError),
        ({"status": 404}, SevenApiError),
        ({"malformed": True}, SevenApiError),
        ({"empty": True}, SevenApiError),
        ({"drop": True}, SevenConnectionError),
        ({"delay": 1.0}, SevenConnectionError),
    ],
)
async def test_faults(
    gateway: Any, faults: dict[str, Any], error: type[Exception]
) -> None:
    """Each injected fault reaches the client as the error it stands for, once."""
    sim = gateway[0]
    _, url, session = gateway
    async with session.post(
        f"{url}/_sim/faults", json=faults | {"times": 1}
    ) as response:
        assert response.status == 200
    with pytest.raises(error):
        await client(gateway, timeout=0.3).validate_for_voice(NUMBER)
    assert len(sim.requests) == 1
    # The fault was for one request only.
    assert isinstance(
        await client(gateway).validate_for_voice(NUMBER), ValidationStarted
    )


async def test_callback_twice_and_slow(gateway: Any, receiver: Any) -> None:
    """The simulator can call back twice, and late."""
    sim = gateway[0]
    hook, received = receiver
    sim.faults.callback_twice = True
    result = await client(gateway).validate_for_voice(NUMBER, callback=hook)
    assert isinstance(result, ValidationStarted)
    _, answer = await keypad(gateway, NUMBER, result.code)
    assert answer["callback"] == [200, 200]
    assert len(received) == 2

    sim.reset()
    sim.faults.callback_delay = 0.2
    received.clear()
    result = await client(gateway).validate_for_voice(NUMBER, callback=hook)
    assert isinstance(result, ValidationStarted)
    _, answer = await keypad(gateway, NUMBER, result.code)
    assert answer["callback"] == "scheduled"
    assert received == []
    for _ in range(50):
        if received:
            break
        await asyncio.sleep(0.05)
    assert URL(str(received[0].url)).query["success"] == "1"


OTHER = "+4917698765432"
# seven.io's OpenAPI description gives /voice no answer schema; this one is the answer
# as the official SDKs type it (JS `VoiceResponse`, PHP `Voice`, Rust `VoiceJson`).
VOICE_ANSWER = {
    "type": "object",
    "required": ["success", "total_price", "balance", "debug", "messages"],
    "properties": {
        "success": {"type": "string"},
        "total_price": {"type": "number"},
        "balance": {"type": "number"},
        "debug": {"type": "boolean"},
        "messages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": [
                    "id",
                    "sender",
                    "recipient",
                    "text",
                    "price",
                    "success",
                    "error",
                    "error_text",
                ],
                "properties": {
                    # A number in docs.seven.io's example and the PHP SDK, text
                    # in the JS SDK; null in a refused row.
                    "id": {"type": ["integer", "string", "null"]},
                    "sender": {"type": "string"},
                    "recipient": {"type": "string"},
                    "text": {"type": "string"},
                    "price": {"type": "number"},
                    "success": {"type": "boolean"},
                    "error": {"type": ["string", "null"]},
                    "error_text": {"type": ["string", "null"]},
                },
            },
        },
    },
}
# The event as the JS SDK types it (`VoiceStatusChangePayload`): what the simulator
# sends unless a test asks for one of the other forms seven.io's sources show.
VOICE_STATUS_EVENT = {
    "type": "object",
    "required": ["webhook_event", "webhook_timestamp", "data"],
    "properties": {
        "webhook_event": {"const": "voice_status"},
        "webhook_timestamp": {"type": "string"},
        "data": {
            "type": "object",
            "required": [
                "id",
                "callerId",
                "recipient",
                "status",
                "duration",
                "pricePerMinute",
                "timestamp",
            ],
            "properties": {
                "id": {"type": "string"},
                "callerId": {"type": "string"},
                "recipient": {"type": "string"},
                "status": {"type": "string"},
                "duration": {"type": "string"},
                "pricePerMinute": {"type": "number"},
                "timestamp": {"type": "integer"},
            },
        },
    },
}


async def validated(
    gateway: tuple[Simulator, str, aiohttp.ClientSession],
    number: str = NUMBER,
    key: str = "demo-key",
) -> None:
    """Validate `number` as a caller ID on `key`'s account."""
    result = await client(gateway, key=key).validate_for_voice(number)
    assert isinstance(result, ValidationStarted)
    assert (await keypad(gateway, number, result.code))[0] == 200


def form_values(params: dict[str, str], schema: dict[str, Any]) -> dict[str, Any]:
    """Read form fields as the types the schema gives them (a form carries only text)."""
    values: dict[str, Any] = dict(params)
    for name, value in params.items():
        kind = schema["properties"].get(name, {}).get("type")
        if kind == "integer" and value.isdigit():
            values[name] = int(value)
        elif kind == "number":
            with contextlib.suppress(ValueError):
                values[name] = float(value)
    return values


def check_request(request: dict[str, Any], path: str) -> None:
    """Check that a request the simulator saw fits the OpenAPI operation's form body."""
    operation = OPENAPI["paths"][path][request["method"].lower()]
    (content_type,) = operation["requestBody"]["content"]
    assert request["headers"]["Content-Type"] == content_type
    schema = operation["requestBody"]["content"][content_type]["schema"]
    jsonschema.validate(form_values(request["params"], schema), schema)


async def raw(
    gateway: tuple[Simulator, str, aiohttp.ClientSession],
    method: str,
    path: str,
    key: str = "demo-key",
    **kwargs: Any,
) -> Any:
    """Send a request as another client would; return the decoded JSON answer."""
    _, url, session = gateway
    async with session.request(
        method,
        f"{url}/api/{path}",
        headers={"X-Api-Key": key, "Accept": "application/json"},
        **kwargs,
    ) as response:
        assert response.status == 200
        return await response.json()


async def end_call(
    gateway: tuple[Simulator, str, aiohttp.ClientSession], **body: Any
) -> tuple[int, dict[str, Any]]:
    """End a placed call; return HTTP status and JSON."""
    _, url, session = gateway
    async with session.post(f"{url}/_sim/end_call", json=body) as response:
        return response.status, await response.json()


def test_openapi_operations_are_still_what_the_checks_assume() -> None:
    """The OpenAPI description has no /voice answer schema; if that changes, use it."""
    voice = OPENAPI["paths"]["/voice"]["post"]
    assert "content" not in voice["responses"]["200"]
    assert set(OPENAPI["paths"]["/hooks"]) == {"get", "post", "delete"}


async def test_voice_and_hooks_match_openapi(gateway: Any, receiver: Any) -> None:
    """What the client sends to /voice and /hooks and the simulator answers fits the spec."""
    sim = gateway[0]
    hook, _ = receiver
    await validated(gateway)
    result = await client(gateway).voice(
        to=OTHER, text="Hallo", sender=NUMBER, ringtime=10, foreign_id="run-1"
    )
    assert result.calls[0].success
    check_request(sim.requests[-1], "/voice")
    answer = await raw(
        gateway,
        "POST",
        "voice",
        data={"to": OTHER, "text": "Hallo", "from": NUMBER},
    )
    jsonschema.validate(answer, VOICE_ANSWER)
    refused = await raw(
        gateway, "POST", "voice", data={"to": OTHER, "text": "Hallo", "from": OTHER}
    )
    jsonschema.validate(refused, VOICE_ANSWER)

    hook_id = await client(gateway).create_hook(hook)
    check_request(sim.requests[-1], "/hooks")
    created = await raw(
        gateway,
        "POST",
        "hooks",
        data={"target_url": hook, "event_type": "voice_status"},
    )
    hooks_op = OPENAPI["paths"]["/hooks"]
    created_schema = hooks_op["post"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    jsonschema.validate(created, created_schema)
    assert created == {"success": True, "id": int(hook_id) + 1}

    listed = await raw(gateway, "GET", "hooks")
    list_schema = hooks_op["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    jsonschema.validate(listed, list_schema)
    # The spec nests each hook under data[].hooks; the gateway and the SDKs list them
    # under `hooks`. Each must still fit the spec's hook, with event_filter null as
    # the SDKs (`null | string`) and seven.io's documentation show it.
    item = copy.deepcopy(
        list_schema["properties"]["data"]["items"]["properties"]["hooks"]
    )
    item["properties"]["event_filter"]["type"] = ["string", "null"]
    item["required"] = list(item["properties"])
    assert len(listed["hooks"]) == 2
    for each in listed["hooks"]:
        jsonschema.validate(each, item)

    await client(gateway).delete_hook(hook_id)
    check_request(sim.requests[-1], "/hooks")
    deleted = await raw(gateway, "DELETE", "hooks", data={"id": str(int(hook_id) + 1)})
    delete_schema = hooks_op["delete"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    jsonschema.validate(deleted, delete_schema)
    assert deleted == {"success": True}


async def test_voice_needs_a_caller_id_validated_on_that_account(
    gateway: Any,
) -> None:
    """A `from` validated nowhere, or on another account, is refused in its row."""
    sim = gateway[0]
    result = await client(gateway).voice(to=OTHER, text="Hallo", sender=NUMBER)
    (call,) = result.calls
    assert (call.success, call.call_id, call.price) == (False, None, 0.0)
    assert call.error
    assert result.total_price == 0.0
    assert sim.calls == {}

    sim.keys["other-key"] = sim.keys["demo-key"]
    await validated(gateway, key="other-key")
    refused = await client(gateway).voice(to=OTHER, text="Hallo", sender=NUMBER)
    assert refused.calls[0].success is False
    # Nor does the other account's validation count here: the number rings again.
    assert isinstance(
        await client(gateway).validate_for_voice(NUMBER), ValidationStarted
    )

    placed = await client(gateway, key="other-key").voice(
        to=OTHER, text="Hallo", sender="0049 176 1234 5678"
    )
    (call,) = placed.calls
    assert call.success
    assert call.error is None
    assert call.recipient == OTHER[1:]
    assert placed.total_price == call.price == 0.045
    assert placed.balance == sim.credit == 12.295
    assert sim.calls[call.call_id or ""].key == "other-key"


async def test_voice_refusals_as_codes(gateway: Any) -> None:
    """Missing or too long parameters and a lack of credit answer with seven.io's codes."""
    sim = gateway[0]
    await validated(gateway)
    for form, code in [
        ({"text": "Hallo", "from": NUMBER}, "301"),
        ({"to": OTHER, "from": NUMBER}, "305"),
        ({"to": OTHER, "text": "x" * 10_001, "from": NUMBER}, "401"),
    ]:
        assert await raw(gateway, "POST", "voice", data=form) == code
    sim.credit = 0
    with pytest.raises(SevenApiError) as raised:
        await client(gateway).voice(to=OTHER, text="Hallo", sender=NUMBER)
    assert raised.value.code == "500"
    assert sim.calls == {}


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.voice(to=OTHER, text="Hallo", sender=NUMBER),
        lambda c: c.hooks(),
        lambda c: c.create_hook("http://127.0.0.1:9/hook"),
        lambda c: c.delete_hook("42"),
    ],
    ids=["voice", "hooks", "create_hook", "delete_hook"],
)
async def test_voice_and_hooks_need_their_scope(gateway: Any, call: Any) -> None:
    """A key without the endpoint's scope gets 902, an unknown key 900."""
    sim = gateway[0]
    sim.keys["validate-only"] = frozenset({"validate_for_voice", "balance"})
    with pytest.raises(SevenMissingScopeError):
        await call(client(gateway, key="validate-only"))
    with pytest.raises(SevenAuthenticationError):
        await call(client(gateway, key="wrong"))
    assert sim.calls == {}
    assert sim.hooks == {}


async def test_hook_create_list_delete(gateway: Any) -> None:
    """Hooks belong to the key's account; a deleted or foreign hook cannot be deleted."""
    sim = gateway[0]
    url = "http://127.0.0.1:9/hook?token=abc"
    hook_id = await client(gateway).create_hook(url)
    assert hook_id == "42"
    (hook,) = await client(gateway).hooks()
    assert hook == Hook(hook_id="42", target_url=url, event_type="voice_status")
    listed = next(iter(sim.hooks.values())).as_json()
    assert listed["request_method"] == "JSON"
    assert listed["enabled"] is True
    assert listed["created"]
    sim.keys["other-key"] = sim.keys["demo-key"]
    assert await client(gateway, key="other-key").hooks() == ()
    with pytest.raises(SevenApiError, match="not found"):
        await client(gateway, key="other-key").delete_hook(hook_id)
    await client(gateway).delete_hook(hook_id)
    assert await client(gateway).hooks() == ()
    with pytest.raises(SevenApiError) as raised:
        await client(gateway).delete_hook(hook_id)
    assert raised.value.code == "hook_refused"
    for target in ("not a url", "/relative", "ftp://127.0.0.1/x"):
        with pytest.raises(SevenApiError, match="target URL"):
            await client(gateway).create_hook(target)
    assert sim.hooks == {}


async def test_keys_of_one_account_share_hooks_and_caller_ids(gateway: Any) -> None:
    """A second key of the account sees and deletes its hooks and calls from its numbers."""
    sim = gateway[0]
    sim.keys["rotated"] = sim.keys["demo-key"]
    sim.accounts["rotated"] = sim.account("demo-key")
    hook_id = await client(gateway).create_hook("http://127.0.0.1:9/hook")
    sim.validated[sim.account("demo-key")] = {"4917612345678": 7}
    assert sim.caller_id("rotated", "4917612345678") == 7
    (hook,) = await client(gateway, key="rotated").hooks()
    assert hook.hook_id == hook_id
    await client(gateway, key="rotated").delete_hook(hook_id)
    assert sim.hooks == {}


async def test_hooks_with_the_older_action_parameter(gateway: Any) -> None:
    """Older clients say what they want with `action`, as the JS and Python SDKs do."""
    created = await raw(
        gateway,
        "POST",
        "hooks",
        data={
            "action": "subscribe",
            "target_url": "http://127.0.0.1:9/hook",
            "event_type": "all",
        },
    )
    assert created == {"success": True, "id": 42}
    listed = await raw(gateway, "GET", "hooks", params={"action": "read"})
    assert [(h["id"], h["request_method"]) for h in listed["hooks"]] == [("42", "POST")]
    assert await raw(
        gateway, "POST", "hooks", data={"action": "unsubscribe", "id": "42"}
    ) == {"success": True}
    assert (await raw(gateway, "GET", "hooks"))["hooks"] == []


async def test_end_call_sends_voice_status(gateway: Any, receiver: Any) -> None:
    """Ending a call POSTs seven.io's voice_status events to the account's hooks only."""
    sim = gateway[0]
    hook, received = receiver
    await validated(gateway)
    await client(gateway).create_hook(f"{hook}?account=demo")
    sim.keys["other-key"] = sim.keys["demo-key"]
    await client(gateway, key="other-key").create_hook(f"{hook}?account=other")
    result = await client(gateway).voice(
        to=OTHER, text="Hallo", sender=NUMBER, foreign_id="run-1"
    )
    call_id = result.calls[0].call_id
    assert call_id is not None

    status, answer = await end_call(
        gateway, call_id=call_id, status="completed", duration="17"
    )
    assert status == 200
    assert answer == {
        "call_id": call_id,
        "status": "completed",
        "updates": [
            {"status": update, "events": {"42": [200]}}
            for update in ("initiated", "ringing", "in-progress")
        ],
        "events": {"42": [200]},
    }
    events = [json.loads(await request.text()) for request in received]
    for request, event in zip(received, events, strict=True):
        assert request.method == "POST"
        assert request.query["account"] == "demo"
        assert request.content_type == "application/json"
        jsonschema.validate(event, VOICE_STATUS_EVENT)
    assert [(e["data"]["status"], e["data"]["duration"]) for e in events] == [
        ("initiated", ""),
        ("ringing", ""),
        ("in-progress", ""),
        ("completed", "17"),
    ]
    assert events[-1]["data"] | {"timestamp": 0} == {
        "id": call_id,
        "callerId": NUMBER[1:],
        "recipient": OTHER[1:],
        "status": "completed",
        "duration": "17",
        "pricePerMinute": 0.045,
        "timestamp": 0,
        "foreign_id": "run-1",
    }
    assert sim.calls[call_id].status == "completed"
    assert sim.calls[call_id].reported == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert (await end_call(gateway, call_id=call_id))[0] == 409
    assert (await end_call(gateway, call_id="nope"))[0] == 404


async def test_end_call_without_foreign_id_twice_and_late(
    gateway: Any, receiver: Any
) -> None:
    """No foreign_id, no field; `callback_twice` and `callback_delay` apply to events."""
    sim = gateway[0]
    hook, received = receiver
    await validated(gateway)
    await client(gateway).create_hook(hook)
    sim.faults.callback_twice = True
    first = (await client(gateway).voice(to=OTHER, text="a", sender=NUMBER)).calls[0]
    _, answer = await end_call(
        gateway, call_id=first.call_id, status="no-answer", duration="0", sequence=[]
    )
    assert answer["events"] == {"42": [200, 200]}
    assert len(received) == 2
    event = json.loads(await received[0].text())
    assert "foreign_id" not in event["data"]
    assert event["data"]["status"] == "no-answer"

    received.clear()
    sim.faults.callback_twice = False
    sim.faults.callback_delay = 0.2
    second = (await client(gateway).voice(to=OTHER, text="b", sender=NUMBER)).calls[0]
    _, answer = await end_call(gateway, call_id=second.call_id)
    assert answer["events"] == answer["updates"] == "scheduled"
    assert received == []
    for _ in range(50):
        if len(received) == 4:
            break
        await asyncio.sleep(0.05)
    statuses = [json.loads(await r.text())["data"]["status"] for r in received]
    assert statuses == ["initiated", "ringing", "in-progress", "completed"]


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ({"status": 503}, SevenConnectionError),
        ({"malformed": True}, SevenApiError),
        ({"drop": True}, SevenConnectionError),
    ],
)
@pytest.mark.parametrize("endpoint", ["voice", "hooks"])
async def test_faults_on_voice_and_hooks(
    gateway: Any, faults: dict[str, Any], error: type[Exception], endpoint: str
) -> None:
    """The injected faults reach /voice and /hooks too; a call is never sent twice."""
    sim = gateway[0]
    await validated(gateway)
    sim.requests.clear()
    _, url, session = gateway
    async with session.post(f"{url}/_sim/faults", json=faults | {"times": 1}):
        pass

    def call() -> Any:
        if endpoint == "voice":
            return client(gateway).voice(to=OTHER, text="Hallo", sender=NUMBER)
        return client(gateway).create_hook("http://127.0.0.1:9/hook")

    with pytest.raises(error):
        await call()
    assert [r["path"] for r in sim.requests] == [f"/api/{endpoint}"]
    assert sim.calls == {}
    assert sim.hooks == {}
    assert await call()


class Scripted:
    """A webhook receiver that answers the statuses it is given, then 200."""

    def __init__(self, url: str) -> None:
        """Receive at `url`."""
        self.url = url
        self.answers: list[int] = []
        self.delay = 0.0
        self.bodies: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        """Keep the event; answer with the next scripted status."""
        self.bodies.append(await request.json())
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.answers.pop(0) if self.answers else 200
        headers = {"Location": "/elsewhere"} if 300 <= status < 400 else None
        return web.Response(status=status, headers=headers)


@pytest.fixture
async def scripted() -> AsyncIterator[Scripted]:
    """Run a receiver on loopback whose answers the test scripts."""
    app = web.Application()
    port = free_port()
    receiver = Scripted(f"http://127.0.0.1:{port}/hook")
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield receiver
    await runner.cleanup()


async def placed_call(
    gateway: tuple[Simulator, str, aiohttp.ClientSession], hook: str
) -> str:
    """Validate NUMBER, hook `hook` up and place a call from NUMBER; return its id."""
    await validated(gateway)
    await client(gateway).create_hook(hook)
    result = await client(gateway).voice(to=OTHER, text="a", sender=NUMBER)
    call_id = result.calls[0].call_id
    assert call_id is not None
    return call_id


async def progress(
    gateway: tuple[Simulator, str, aiohttp.ClientSession], **body: Any
) -> tuple[int, dict[str, Any]]:
    """Report a call's progress; return HTTP status and JSON."""
    _, url, session = gateway
    async with session.post(f"{url}/_sim/progress", json=body) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("final", "expected"),
    [
        ("completed", ["initiated", "ringing", "in-progress", "completed"]),
        ("no-answer", ["initiated", "ringing", "no-answer"]),
        ("failed", ["initiated", "ringing", "failed"]),
        # The JS SDK types the status `"completed" | string`: others pass as given.
        ("busy", ["initiated", "ringing", "busy"]),
        ("canceled", ["initiated", "ringing", "canceled"]),
    ],
)
async def test_a_call_reports_each_status(
    gateway: Any, scripted: Scripted, final: str, expected: list[str]
) -> None:
    """One event per status, in seven.io's order; only an answered call is in-progress."""
    call_id = await placed_call(gateway, scripted.url)
    status, answer = await end_call(gateway, call_id=call_id, status=final)
    assert status == 200
    assert [u["status"] for u in answer["updates"]] == expected[:-1]
    assert [e["data"]["status"] for e in scripted.bodies] == expected
    for event in scripted.bodies:
        jsonschema.validate(event, VOICE_STATUS_EVENT)
    # The duration is known at the end only.
    assert [e["data"]["duration"] for e in scripted.bodies] == [""] * (
        len(expected) - 1
    ) + ["0"]


async def test_progress_then_end(gateway: Any, scripted: Scripted) -> None:
    """Progress can be reported alone; the end then sends only what is still missing."""
    sim = gateway[0]
    call_id = await placed_call(gateway, scripted.url)
    status, answer = await progress(gateway, call_id=call_id)
    assert status == 200
    assert answer == {
        "call_id": call_id,
        "updates": [
            {"status": "initiated", "events": {"42": [200]}},
            {"status": "ringing", "events": {"42": [200]}},
        ],
    }
    assert sim.calls[call_id].status == "ringing"
    assert not sim.calls[call_id].ended
    _, answer = await progress(gateway, call_id=call_id, sequence=["in-progress"])
    assert [u["status"] for u in answer["updates"]] == ["in-progress"]
    _, answer = await end_call(gateway, call_id=call_id, duration=17)
    assert answer["updates"] == []
    assert [e["data"]["status"] for e in scripted.bodies] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert (await progress(gateway, call_id=call_id))[0] == 409
    assert (await progress(gateway, call_id="nope"))[0] == 404


async def test_explicit_sequence(gateway: Any, scripted: Scripted) -> None:
    """A test may send any sequence, even none, and as text from a form."""
    _, url, session = gateway
    call_id = await placed_call(gateway, scripted.url)
    async with session.post(
        f"{url}/_sim/end_call",
        data={"call_id": call_id, "status": "no-answer", "sequence": "ringing,ringing"},
    ) as response:
        assert response.status == 200
    assert [e["data"]["status"] for e in scripted.bodies] == [
        "ringing",
        "ringing",
        "no-answer",
    ]
    second = (await client(gateway).voice(to=OTHER, text="b", sender=NUMBER)).calls[0]
    scripted.bodies.clear()
    await end_call(gateway, call_id=second.call_id, sequence=[])
    assert [e["data"]["status"] for e in scripted.bodies] == ["completed"]


@pytest.mark.parametrize(
    ("progress_duration", "before"),
    [("empty", ""), ("null", None), ("absent", "no field")],
)
@pytest.mark.parametrize("final", [17, "17", "17.0", "", None])
async def test_duration_forms(
    gateway: Any,
    scripted: Scripted,
    progress_duration: str,
    before: Any,
    final: Any,
) -> None:
    """Empty, null or missing until the end; the final duration exactly as asked."""
    call_id = await placed_call(gateway, scripted.url)
    await end_call(
        gateway,
        call_id=call_id,
        duration=final,
        progress_duration=progress_duration,
    )
    *updates, last = (e["data"] for e in scripted.bodies)
    assert len(updates) == 3
    for data in updates:
        assert data.get("duration", "no field") == before
        assert ("duration" in data) is (before != "no field")
    assert last["duration"] == final
    assert type(last["duration"]) is type(final)


async def test_event_id_forms(gateway: Any, scripted: Scripted) -> None:
    """The event's id is text (JS SDK) unless a number is asked for."""
    call_id = await placed_call(gateway, scripted.url)
    await progress(gateway, call_id=call_id, sequence=["initiated"])
    await end_call(gateway, call_id=call_id, event_id="integer", sequence=[])
    assert [e["data"]["id"] for e in scripted.bodies] == [call_id, int(call_id)]


@pytest.mark.parametrize(
    "body",
    [
        {"progress_duration": "zero"},
        {"event_id": "uuid"},
        {"retry_policy": "never"},
        {"attempts": 0},
        {"retry_delay": -1},
        {"attempt_timeout": 0},
        {"attempts": "many"},
        {"sequence": [1, 2]},
        {"sequence": {"a": 1}},
    ],
)
async def test_bad_report_options(
    gateway: Any, scripted: Scripted, body: dict[str, Any]
) -> None:
    """Options the simulator does not know are refused and nothing is sent."""
    sim = gateway[0]
    call_id = await placed_call(gateway, scripted.url)
    assert (await progress(gateway, call_id=call_id, **body))[0] == 400
    assert (await end_call(gateway, call_id=call_id, **body))[0] == 400
    assert scripted.bodies == []
    assert not sim.calls[call_id].ended


async def test_message_id_forms(gateway: Any) -> None:
    """The row id is a number as docs.seven.io and the PHP SDK show it, or JS SDK text."""
    _, url, session = gateway
    await validated(gateway)
    form = {"to": OTHER, "text": "Hallo", "from": NUMBER}
    (row,) = (await raw(gateway, "POST", "voice", data=form))["messages"]
    assert row["id"] == 123456789
    jsonschema.validate({"messages": [row]}, VOICE_ANSWER["properties"])
    async with session.post(
        f"{url}/_sim/shapes", json={"message_id": "string"}
    ) as response:
        assert response.status == 200
    (row,) = (await raw(gateway, "POST", "voice", data=form))["messages"]
    assert row["id"] == "123456790"
    # The integration's client reads both.
    result = await client(gateway).voice(to=OTHER, text="a", sender=NUMBER)
    assert result.calls[0].call_id == "123456791"
    async with session.post(f"{url}/_sim/shapes", json={"message_id": 1}) as response:
        assert response.status == 400
    async with session.post(f"{url}/_sim/reset") as response:
        assert response.status == 200
    assert gateway[0].shapes.message_id == "integer"


async def test_voice_without_from(gateway: Any, scripted: Scripted) -> None:
    """`from` is optional: seven.io then calls from a number of its own."""
    sim, url, session = gateway
    required = OPENAPI["paths"]["/voice"]["post"]["requestBody"]["content"][
        "application/x-www-form-urlencoded"
    ]["schema"]["required"]
    assert "from" not in required
    await client(gateway).create_hook(scripted.url)
    answer = await raw(gateway, "POST", "voice", data={"to": OTHER, "text": "Hallo"})
    jsonschema.validate(answer, VOICE_ANSWER)
    (row,) = answer["messages"]
    assert (row["success"], row["sender"], row["error"]) == (True, "491771783130", None)
    await end_call(gateway, call_id=str(row["id"]), sequence=[])
    assert scripted.bodies[0]["data"]["callerId"] == "491771783130"
    async with session.post(
        f"{url}/_sim/account", json={"default_sender": "+49 30 123456"}
    ) as response:
        assert (await response.json())["default_sender"] == "4930123456"
    answer = await raw(gateway, "POST", "voice", data={"to": OTHER, "text": "Hallo"})
    assert answer["messages"][0]["sender"] == "4930123456"
    async with session.post(
        f"{url}/_sim/account", json={"default_sender": "12"}
    ) as response:
        assert response.status == 400
    assert sim.default_sender == "4930123456"


@pytest.mark.parametrize(
    ("answers", "statuses"),
    [
        ([503, 200], [503, 200]),
        ([429, 500, 502, 504, 200], [429, 500, 502, 504, 200]),
        # Every other answer is final, 4xx above all; 2xx and 3xx are delivered.
        ([404], [404]),
        ([400], [400]),
        ([403], [403]),
        ([501], [501]),
        ([302], [302]),
        ([204], [204]),
        # At most `attempts` (here 5) in all.
        ([503] * 9, [503] * 5),
    ],
)
async def test_webhook_retries(
    gateway: Any, scripted: Scripted, answers: list[int], statuses: list[int]
) -> None:
    """429 and 500, 502, 503, 504 are retried up to `attempts` times; the rest is final."""
    call_id = await placed_call(gateway, scripted.url)
    scripted.answers = answers
    _, answer = await end_call(
        gateway, call_id=call_id, sequence=[], attempts=5, retry_delay=0.01
    )
    assert answer["events"] == {"42": statuses}
    # The same event each time.
    assert len({json.dumps(body) for body in scripted.bodies}) == 1
    assert len(scripted.bodies) == len(statuses)


async def test_default_retries(gateway: Any, scripted: Scripted) -> None:
    """By default up to 14 attempts, as docs.seven.io says, a short time apart."""
    call_id = await placed_call(gateway, scripted.url)
    scripted.answers = [503] * 20
    _, answer = await end_call(gateway, call_id=call_id, sequence=[])
    assert answer["events"] == {"42": [503] * 14}


async def test_legacy_retries(gateway: Any, scripted: Scripted) -> None:
    """The page's earlier text: only a timeout or a 500, up to 6 attempts in total."""
    call_id = await placed_call(gateway, scripted.url)
    scripted.answers = [503]
    _, answer = await end_call(
        gateway, call_id=call_id, sequence=[], retry_policy="legacy"
    )
    assert answer["events"] == {"42": [503]}
    second = (await client(gateway).voice(to=OTHER, text="b", sender=NUMBER)).calls[0]
    scripted.answers = [500] * 10
    _, answer = await end_call(
        gateway,
        call_id=second.call_id,
        sequence=[],
        retry_policy="legacy",
        retry_delay=0.01,
    )
    assert answer["events"] == {"42": [500] * 6}


async def test_retries_after_connection_errors_and_timeouts(
    gateway: Any, scripted: Scripted
) -> None:
    """Nobody listening, or no answer within the attempt's time: tried again."""
    sim = gateway[0]
    closed = f"http://127.0.0.1:{free_port()}/hook"
    call_id = await placed_call(gateway, closed)
    _, answer = await end_call(
        gateway, call_id=call_id, sequence=[], attempts=2, retry_delay=0.01
    )
    (outcomes,) = answer["events"].values()
    assert len(outcomes) == 2
    assert all(isinstance(outcome, str) for outcome in outcomes)

    sim.hooks.clear()
    await client(gateway).create_hook(scripted.url)
    scripted.delay = 0.5
    second = (await client(gateway).voice(to=OTHER, text="b", sender=NUMBER)).calls[0]
    _, answer = await end_call(
        gateway,
        call_id=second.call_id,
        sequence=[],
        attempts=2,
        retry_delay=0.01,
        attempt_timeout=0.1,
    )
    (outcomes,) = answer["events"].values()
    assert len(outcomes) == 2
    assert all(isinstance(outcome, str) for outcome in outcomes)


async def test_one_failing_hook_does_not_hold_another(
    gateway: Any, scripted: Scripted, receiver: Any
) -> None:
    """Each hook gets its deliveries and retries of its own."""
    hook, received = receiver
    call_id = await placed_call(gateway, scripted.url)
    await client(gateway).create_hook(hook)
    scripted.answers = [503, 503, 503]
    _, answer = await end_call(
        gateway, call_id=call_id, sequence=[], attempts=3, retry_delay=0.01
    )
    assert answer["events"] == {"42": [503, 503, 503], "43": [200]}
    assert len(received) == 1


async def test_attempts_show_while_they_are_made(
    gateway: Any, scripted: Scripted
) -> None:
    """The state lists a delivery's attempts as they happen; a later retry lands."""
    _, url, session = gateway
    call_id = await placed_call(gateway, scripted.url)
    scripted.answers = [503] * 100
    ending = asyncio.create_task(
        end_call(gateway, call_id=call_id, sequence=[], retry_delay=0.05)
    )
    for _ in range(100):
        async with session.get(f"{url}/_sim/state") as response:
            events = (await response.json())["events"]
        if events and events[-1]["statuses"][:1] == [503]:
            break
        await asyncio.sleep(0.02)
    assert events[-1]["statuses"][:1] == [503]
    assert not ending.done()
    scripted.answers.clear()
    _, answer = await ending
    (statuses,) = answer["events"].values()
    assert statuses[-1] == 200
    assert set(statuses[:-1]) == {503}


async def test_journal_and_hang_up_match_openapi(gateway: Any) -> None:
    """The journal lists a call as it goes and ends; a hang-up ends it once."""
    await validated(gateway)
    seven = client(gateway)
    placed = await seven.voice(to=OTHER, text="Hallo", sender=NUMBER, foreign_id="a")
    call_id = placed.calls[0].call_id
    assert call_id is not None
    paths = OPENAPI["paths"]
    journal_schema = paths["/journal/voice"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"] | {"components": OPENAPI["components"]}
    listed = await raw(gateway, "GET", "journal/voice", params={"limit": "10"})
    jsonschema.validate(listed, journal_schema)
    ((going,),) = [[row for row in listed if row["id"] == call_id]]
    assert (going["status"], going["duration"]) == ("", "")
    (row,) = await seven.voice_journal("2026-01-01")
    assert (row.call_id, row.status, row.duration) == (call_id, "", 0)

    hangup_schema = paths["/voice/{call_id}/hangup"]["post"]["responses"]["200"][
        "content"
    ]["application/json"]["schema"]
    assert await seven.hang_up(call_id) is None
    again = await raw(gateway, "POST", f"voice/{call_id}/hangup")
    jsonschema.validate(again, hangup_schema)
    assert again == {"success": False, "error": "Call is not active"}
    assert await seven.hang_up(call_id) == "Call is not active"
    assert await seven.hang_up("nope") == "Call not found"
    (ended,) = await seven.voice_journal("2026-01-01")
    assert (ended.status, ended.duration) == ("canceled", 0)
    jsonschema.validate(await raw(gateway, "GET", "journal/voice"), journal_schema)


async def test_analytics_by_date_match_openapi(gateway: Any) -> None:
    """Each day's calls and their cost, as the OpenAPI shows them; the client sums today."""
    await validated(gateway)
    seven = client(gateway)
    for _ in range(3):
        assert (
            (await seven.voice(to=OTHER, text="Hallo", sender=NUMBER)).calls[0].success
        )
    schema = OPENAPI["paths"]["/analytics/date"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"] | {"components": OPENAPI["components"]}
    rows = await raw(gateway, "GET", "analytics/date")
    jsonschema.validate(rows, schema)
    today = datetime.now(UTC).date().isoformat()
    assert [(row["date"], row["voice"]) for row in rows] == [(today, 3)]
    assert await seven.spent(today) == pytest.approx(3 * PRICE_PER_MINUTE)
    assert await seven.spent("2026-01-01") == 0
    gateway[0].keys["other-key"] = ALL_SCOPES
    assert await client(gateway, key="other-key").spent(today) == 0  # its own account
    gateway[0].keys["no-analytics"] = ALL_SCOPES - {"analytics"}
    with pytest.raises(SevenMissingScopeError):
        await client(gateway, key="no-analytics").spent(today)
