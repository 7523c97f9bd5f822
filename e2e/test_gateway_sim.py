"""The gateway simulator answers as seven.io documents, checked with the real client.

These run with the e2e suite: they use real HTTP on loopback and need none of
Home Assistant's test harness.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
import jsonschema
import pytest
from yarl import URL

from callerid_dev.gateway_sim import Simulator
from callerid_dev.harness import free_port, simulator_server
from custom_components.callerid.api import (
    AlreadyValidated,
    Balance,
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
        caller_id=12345, formatted_number="+49 176 12345678", voice=True
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
