"""Tests of the seven.io client, against the gateway mocked at HTTP level."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from yarl import URL

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
    SevenServerError,
    SevenTimeoutError,
    ValidationStarted,
    VoiceCall,
    VoiceResult,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .conftest import API_KEY, BALANCE_URL, GATEWAY, NUMBER, VALIDATE_URL


@pytest.fixture(autouse=True)
def hooks() -> None:
    """No canned hooks answers here: these tests give the gateway's answers themselves."""


@pytest.fixture
async def client(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> SevenClient:
    """Return a client on Home Assistant's (mocked) session."""
    return SevenClient(async_get_clientsession(hass), API_KEY)


async def test_validate_sends_form_key_and_sentwith(
    client: SevenClient, aioclient_mock: AiohttpClientMocker
) -> None:
    """A new validation returns the code as a string, leading zero kept."""
    aioclient_mock.post(
        VALIDATE_URL, json={"success": True, "code": "069935", "error": None}
    )
    result = await client.validate_for_voice(
        "+4917612345678", callback="https://example.org/cb?token=x"
    )
    assert result == ValidationStarted(code="069935")
    ((method, url, data, headers),) = aioclient_mock.mock_calls
    assert (method, str(url)) == ("POST", VALIDATE_URL)
    assert data == {
        "number": "+4917612345678",
        "callback": "https://example.org/cb?token=x",
    }
    assert headers["X-Api-Key"] == API_KEY
    assert headers["SentWith"]
    assert headers["Accept"] == "application/json"


async def test_validate_already_validated(
    client: SevenClient, aioclient_mock: AiohttpClientMocker
) -> None:
    """The answer for a number validated before carries its id and no code."""
    aioclient_mock.post(
        VALIDATE_URL,
        json={
            "id": 12345,
            "sender": "4917612345678",
            "formatted_output": "+49 176 12345678",
            "success": True,
            "error": "The caller ID has already been saved.",
            "voice": True,
        },
    )
    assert await client.validate_for_voice("+4917612345678") == AlreadyValidated(
        caller_id=12345, voice=True
    )
    assert "callback" not in aioclient_mock.mock_calls[0][2]


async def test_validate_invalid_number(
    client: SevenClient, aioclient_mock: AiohttpClientMocker
) -> None:
    """success=false is a refusal of the number, whatever the wording."""
    aioclient_mock.post(
        VALIDATE_URL,
        json={
            "id": None,
            "sender": "49176",
            "formatted_output": None,
            "success": False,
            "error": "Reception number invalid",
            "voice": False,
        },
    )
    with pytest.raises(SevenInvalidNumberError, match="Reception number invalid"):
        await client.validate_for_voice("+49176")


@pytest.mark.parametrize(
    ("answer", "error", "code"),
    [
        ({"text": "900"}, SevenAuthenticationError, "900"),
        ({"text": '"900"'}, SevenAuthenticationError, "900"),
        ({"text": "902"}, SevenMissingScopeError, "902"),
        ({"text": '"902"'}, SevenMissingScopeError, "902"),
        ({"text": "500"}, SevenApiError, "500"),
        ({"text": "903"}, SevenApiError, "903"),
        ({"text": " 600\n"}, SevenApiError, "600"),
        ({"json": 700}, SevenApiError, "700"),
        ({"text": "<html>oops</html>"}, SevenApiError, "unexpected_response"),
        ({"text": ""}, SevenApiError, "unexpected_response"),
        ({"json": {"error": None}}, SevenApiError, "unexpected_response"),
        ({"json": {"success": "yes"}}, SevenApiError, "unexpected_response"),
        ({"json": [1, 2]}, SevenApiError, "unexpected_response"),
        (
            {"json": {"success": True, "code": 699350}},
            SevenApiError,
            "unexpected_response",
        ),
        (
            {"json": {"success": True, "code": "12ab"}},
            SevenApiError,
            "unexpected_response",
        ),
        # Neither a code nor what an already validated number comes with.
        ({"json": {"success": True}}, SevenApiError, "unexpected_response"),
        (
            {"json": {"success": True, "error": None, "code": None}},
            SevenApiError,
            "unexpected_response",
        ),
        ({"status": 401}, SevenAuthenticationError, "http_401"),
        ({"status": 403}, SevenAuthenticationError, "http_403"),
        ({"status": 404}, SevenApiError, "http_404"),
        ({"status": 502}, SevenServerError, None),
        ({"exc": TimeoutError()}, SevenTimeoutError, None),
        ({"exc": aiohttp.ClientConnectionError()}, SevenConnectionError, None),
        ({"exc": aiohttp.ServerDisconnectedError()}, SevenConnectionError, None),
    ],
)
async def test_validate_errors(
    client: SevenClient,
    aioclient_mock: AiohttpClientMocker,
    answer: dict[str, Any],
    error: type[Exception],
    code: str | None,
) -> None:
    """Every failure becomes one of the client's errors, after exactly one request."""
    aioclient_mock.post(VALIDATE_URL, **answer)
    with pytest.raises(error) as raised:
        await client.validate_for_voice("+4917612345678")
    assert type(raised.value) is error
    if code is not None:
        assert isinstance(raised.value, SevenApiError)
        assert raised.value.code == code
    assert aioclient_mock.call_count == 1


async def test_request_times_out_after_the_limit(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """A gateway that does not answer in time is a connection error."""

    async def hang(*_: Any) -> None:
        await asyncio.sleep(5)

    aioclient_mock.get(BALANCE_URL, side_effect=hang)
    client = SevenClient(async_get_clientsession(hass), API_KEY, timeout=0.05)
    with pytest.raises(SevenConnectionError, match="timeout"):
        await client.balance()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"json": {"amount": 12.34, "currency": "EUR"}}, Balance(12.34, "EUR")),
        ({"json": {"amount": 3, "currency": None}}, Balance(3.0, None)),
        ({"text": "12.34"}, Balance(12.34, None)),
        # A three-digit balance is not one of seven.io's error codes.
        ({"text": "100"}, Balance(100.0, None)),
        ({"json": 250}, Balance(250.0, None)),
        ({"text": "900.00"}, Balance(900.0, None)),
        ({"json": {"amount": 900, "currency": "EUR"}}, Balance(900.0, "EUR")),
    ],
)
async def test_balance(
    client: SevenClient,
    aioclient_mock: AiohttpClientMocker,
    answer: dict[str, Any],
    expected: Balance,
) -> None:
    """Both the JSON and the plain balance are read."""
    aioclient_mock.get(BALANCE_URL, **answer)
    assert await client.balance() == expected


@pytest.mark.parametrize(
    "answer",
    [{"json": {"amount": "lots"}}, {"json": True}, {"json": [12.3]}],
)
async def test_balance_unexpected(
    client: SevenClient, aioclient_mock: AiohttpClientMocker, answer: dict[str, Any]
) -> None:
    """A balance that is not a number is an unexpected answer."""
    aioclient_mock.get(BALANCE_URL, **answer)
    with pytest.raises(SevenApiError, match="unexpected_response"):
        await client.balance()


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"text": "900"}, SevenAuthenticationError),
        ({"text": '"900"'}, SevenAuthenticationError),
        ({"text": "902"}, SevenMissingScopeError),
        ({"text": "903"}, SevenApiError),
    ],
)
async def test_balance_error_codes(
    client: SevenClient,
    aioclient_mock: AiohttpClientMocker,
    answer: dict[str, Any],
    error: type[Exception],
) -> None:
    """seven.io's own error codes are still errors on the balance."""
    aioclient_mock.get(BALANCE_URL, **answer)
    with pytest.raises(error):
        await client.balance()


async def test_base_url_is_used(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """Another gateway (the simulator) is reached under its own base URL."""
    aioclient_mock.get("http://127.0.0.1:9/api/balance", json={"amount": 1.0})
    client = SevenClient(
        async_get_clientsession(hass), API_KEY, base_url="http://127.0.0.1:9/api/"
    )
    assert await client.balance() == Balance(1.0, None)


VOICE_URL = f"{GATEWAY}/voice"
HOOKS_URL = f"{GATEWAY}/hooks"
OTHER = "+4917698765432"
VOICE_ROW: dict[str, Any] = {
    "id": "123456789",
    "sender": "4917612345678",
    "recipient": "4917698765432",
    "text": "Hallo",
    "price": 0.045,
    "success": True,
    "error": None,
    "error_text": None,
}
VOICE_OK: dict[str, Any] = {
    "success": "100",
    "total_price": 0.045,
    "balance": 12.3,
    "debug": False,
    "messages": [VOICE_ROW],
}
CALL_OK = VoiceCall(
    call_id="123456789",
    recipient="4917698765432",
    success=True,
    error=None,
    price=0.045,
)


async def test_voice_sends_form_once(
    client: SevenClient, aioclient_mock: AiohttpClientMocker
) -> None:
    """A call is one form POST with the caller ID as `from`; the answer is read."""
    aioclient_mock.post(VOICE_URL, json=VOICE_OK)
    result = await client.voice(
        to=OTHER, text="Hallo", sender=NUMBER, ringtime=20, foreign_id="run-1"
    )
    assert result == VoiceResult(total_price=0.045, balance=12.3, calls=(CALL_OK,))
    ((method, url, data, headers),) = aioclient_mock.mock_calls
    assert (method, str(url)) == ("POST", VOICE_URL)
    assert data == {
        "to": OTHER,
        "text": "Hallo",
        "from": NUMBER,
        "ringtime": "20",
        "foreign_id": "run-1",
    }
    assert headers["X-Api-Key"] == API_KEY
    assert headers["Accept"] == "application/json"


async def test_voice_leaves_out_what_is_not_given(
    client: SevenClient, aioclient_mock: AiohttpClientMocker
) -> None:
    """Without ringtime and foreign_id, neither is sent."""
    aioclient_mock.post(VOICE_URL, json=VOICE_OK)
    await client.voice(to=OTHER, text="Hallo", sender=NUMBER)
    assert aioclient_mock.mock_calls[0][2] == {
        "to": OTHER,
        "text": "Hallo",
        "from": NUMBER,
    }


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # seven.io's documentation shows the id as a number, the SDKs as text.
        (
            VOICE_OK | {"messages": [VOICE_ROW | {"id": 1384013}]},
            VoiceResult(0.045, 12.3, (replace(CALL_OK, call_id="1384013"),)),
        ),
        (
            VOICE_OK
            | {
                "success": "101",
                "total_price": 0,
                "messages": [
                    VOICE_ROW
                    | {
                        "id": None,
                        "price": 0,
                        "success": False,
                        "error": "201",
                        "error_text": "Invalid sender",
                    }
                ],
            },
            VoiceResult(
                0.0,
                12.3,
                (
                    VoiceCall(
                        call_id=None,
                        recipient="4917698765432",
                        success=False,
                        error="Invalid sender",
                        price=0.0,
                    ),
                ),
            ),
        ),
        (
            {
                "success": "101",
                "messages": [
                    VOICE_ROW
                    | {"id": None, "success": False, "error": 201, "price": None}
                ],
            },
            VoiceResult(
                None,
                None,
                (
                    VoiceCall(
                        call_id=None,
                        recipient="4917698765432",
                        success=False,
                        error="201",
                        price=None,
                    ),
                ),
            ),
        ),
    ],
)
async def test_voice_answers(
    client: SevenClient,
    aioclient_mock: AiohttpClientMocker,
    answer: dict[str, Any],
    expected: VoiceResult,
) -> None:
    """Ids as numbers, refused rows and absent amounts are read."""
    aioclient_mock.post(VOICE_URL, json=answer)
    assert await client.voice(to=OTHER, text="Hallo", sender=NUMBER) == expected


@pytest.mark.parametrize(
    ("answer", "error", "code"),
    [
        ({"text": "900"}, SevenAuthenticationError, "900"),
        ({"text": '"902"'}, SevenMissingScopeError, "902"),
        ({"text": "500"}, SevenApiError, "500"),
        ({"json": {"success": "500"}}, SevenApiError, "500"),
        ({"json": {"success": "902", "messages": []}}, SevenMissingScopeError, "902"),
        ({"json": {"success": "100"}}, SevenApiError, "unexpected_response"),
        (
            {"json": VOICE_OK | {"messages": []}},
            SevenApiError,
            "unexpected_response",
        ),
        ({"json": [VOICE_OK]}, SevenApiError, "unexpected_response"),
        (
            {"json": VOICE_OK | {"messages": [{"id": "1", "recipient": "49176"}]}},
            SevenApiError,
            "unexpected_response",
        ),
        (
            {"json": VOICE_OK | {"messages": [VOICE_ROW | {"success": "true"}]}},
            SevenApiError,
            "unexpected_response",
        ),
        (
            {"json": VOICE_OK | {"messages": [VOICE_ROW | {"recipient": None}]}},
            SevenApiError,
            "unexpected_response",
        ),
        (
            {"json": VOICE_OK | {"messages": [VOICE_ROW | {"id": True}]}},
            SevenApiError,
            "unexpected_response",
        ),
        (
            {"json": VOICE_OK | {"messages": [VOICE_ROW | {"price": "0.045"}]}},
            SevenApiError,
            "unexpected_response",
        ),
        (
            {"json": VOICE_OK | {"balance": "lots"}},
            SevenApiError,
            "unexpected_response",
        ),
        (
            {"json": VOICE_OK | {"messages": ["1"]}},
            SevenApiError,
            "unexpected_response",
        ),
        ({"status": 401}, SevenAuthenticationError, "http_401"),
        ({"status": 502}, SevenServerError, None),
        ({"exc": TimeoutError()}, SevenTimeoutError, None),
        ({"exc": aiohttp.ServerDisconnectedError()}, SevenConnectionError, None),
    ],
)
async def test_voice_errors(
    client: SevenClient,
    aioclient_mock: AiohttpClientMocker,
    answer: dict[str, Any],
    error: type[Exception],
    code: str | None,
) -> None:
    """Every failure is one of the client's errors after one request, never a retry."""
    aioclient_mock.post(VOICE_URL, **answer)
    with pytest.raises(error) as raised:
        await client.voice(to=OTHER, text="Hallo", sender=NUMBER)
    assert type(raised.value) is error
    if code is not None:
        assert isinstance(raised.value, SevenApiError)
        assert raised.value.code == code
    assert aioclient_mock.call_count == 1
    # The next call goes through.
    aioclient_mock.clear_requests()
    aioclient_mock.post(VOICE_URL, json=VOICE_OK)
    assert (await client.voice(to=OTHER, text="Hallo", sender=NUMBER)).calls == (
        CALL_OK,
    )


async def test_hooks_list(
    client: SevenClient, aioclient_mock: AiohttpClientMocker
) -> None:
    """The account's hooks are read as seven.io's SDKs and documentation show them."""
    aioclient_mock.get(
        HOOKS_URL,
        json={
            "success": True,
            "code": None,
            "hooks": [
                {
                    "id": "410",
                    "target_url": "https://acme.inc/v1/webhooks",
                    "headers": "",
                    "event_type": "sms_mo",
                    "event_filter": "49157123456789",
                    "request_method": "GET",
                    "enabled": True,
                    "created": "2021-03-01 11:19:08",
                },
                {
                    "id": 1277,
                    "target_url": "https://hooks.seven.io/hook",
                    "event_type": "voice_status",
                    "event_filter": None,
                    "request_method": "JSON",
                    "enabled": False,
                },
            ],
        },
    )
    assert await client.hooks() == (
        Hook("410", "https://acme.inc/v1/webhooks", "sms_mo"),
        Hook("1277", "https://hooks.seven.io/hook", "voice_status"),
    )
    ((method, url, data, _),) = aioclient_mock.mock_calls
    assert (method, str(url), data) == ("GET", HOOKS_URL, None)


async def test_hooks_list_empty(
    client: SevenClient, aioclient_mock: AiohttpClientMocker
) -> None:
    """An account without hooks may have no `hooks` at all."""
    aioclient_mock.get(HOOKS_URL, json={"success": True})
    assert await client.hooks() == ()


async def test_create_and_delete_hook(
    client: SevenClient, aioclient_mock: AiohttpClientMocker
) -> None:
    """A voice_status hook delivering JSON is created; its id comes back as text.

    Deleting names the id in the form body (the OpenAPI) and in the query (the PHP
    SDK), so it works whichever the gateway reads.
    """
    aioclient_mock.post(HOOKS_URL, json={"success": True, "id": 42})
    aioclient_mock.delete(HOOKS_URL, json={"success": True})
    assert await client.create_hook("https://home.example.org/api/webhook/x") == "42"
    assert await client.delete_hook("42") is None
    (create, delete) = aioclient_mock.mock_calls
    assert create[:3] == (
        "POST",
        URL(HOOKS_URL),
        {
            "target_url": "https://home.example.org/api/webhook/x",
            "event_type": "voice_status",
            "request_method": "JSON",
        },
    )
    assert delete[:3] == (
        "DELETE",
        URL(HOOKS_URL).with_query(id="42"),
        {"id": "42"},
    )


HOOK_ROW = {"id": "1", "target_url": "https://x", "event_type": "voice_status"}


@pytest.mark.parametrize(
    ("operation", "answer", "error", "code"),
    [
        ("list", {"text": "902"}, SevenMissingScopeError, "902"),
        ("create", {"text": '"902"'}, SevenMissingScopeError, "902"),
        ("delete", {"text": "900"}, SevenAuthenticationError, "900"),
        (
            "create",
            {"json": {"success": False, "error_message": "Invalid target URL"}},
            SevenApiError,
            "hook_refused",
        ),
        ("delete", {"json": {"success": False}}, SevenApiError, "hook_refused"),
        ("list", {"json": {"success": False}}, SevenApiError, "hook_refused"),
        ("list", {"json": {"success": "true"}}, SevenApiError, "unexpected_response"),
        # The nesting of seven.io's OpenAPI description is not what the gateway sends.
        (
            "list",
            {"json": {"data": [{"hooks": HOOK_ROW | {"enabled": True}}]}},
            SevenApiError,
            "unexpected_response",
        ),
        (
            "list",
            {"json": {"success": True, "hooks": HOOK_ROW | {"enabled": True}}},
            SevenApiError,
            "unexpected_response",
        ),
        (
            "list",
            {"json": {"success": True, "hooks": [{"id": "1", "event_type": "x"}]}},
            SevenApiError,
            "unexpected_response",
        ),
        (
            "list",
            {
                "json": {
                    "success": True,
                    "hooks": [HOOK_ROW | {"enabled": True, "id": ""}],
                }
            },
            SevenApiError,
            "unexpected_response",
        ),
        ("create", {"json": {"success": True}}, SevenApiError, "unexpected_response"),
        (
            "create",
            {"json": {"success": True, "id": True}},
            SevenApiError,
            "unexpected_response",
        ),
        ("delete", {"json": []}, SevenApiError, "unexpected_response"),
        ("create", {"status": 503}, SevenServerError, None),
        ("list", {"exc": aiohttp.ClientConnectionError()}, SevenConnectionError, None),
    ],
)
async def test_hooks_errors(
    client: SevenClient,
    aioclient_mock: AiohttpClientMocker,
    operation: str,
    answer: dict[str, Any],
    error: type[Exception],
    code: str | None,
) -> None:
    """Refusals and unreadable answers of the hooks endpoint are the client's errors."""
    register, call, good, expected = {
        "list": (aioclient_mock.get, client.hooks, {"hooks": []}, ()),
        "create": (
            aioclient_mock.post,
            partial(client.create_hook, "https://home.example.org/hook"),
            {"id": 42},
            "42",
        ),
        "delete": (
            aioclient_mock.delete,
            partial(client.delete_hook, "42"),
            {},
            None,
        ),
    }[operation]
    register(HOOKS_URL, **answer)
    with pytest.raises(error) as raised:
        await call()
    assert type(raised.value) is error
    if code is not None:
        assert isinstance(raised.value, SevenApiError)
        assert raised.value.code == code
    assert aioclient_mock.call_count == 1
    # The next request goes through.
    aioclient_mock.clear_requests()
    register(HOOKS_URL, json={"success": True} | good)
    assert await call() == expected


async def test_no_redirect_is_followed(socket_enabled: None) -> None:
    """A gateway that redirects elsewhere gets no second request: key and URL stay home."""
    stolen: list[web.Request] = []

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://localhost:{request.url.port}/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        stolen.append(request)
        return web.json_response({"amount": 1.0, "currency": "EUR"})

    app = web.Application()
    app.router.add_get("/api/balance", redirect)
    app.router.add_get("/elsewhere", elsewhere)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            client = SevenClient(
                session, API_KEY, base_url=str(server.make_url("/api"))
            )
            with pytest.raises(SevenApiError) as raised:
                await client.balance()
    finally:
        await server.close()
    assert raised.value.code == "http_302"
    assert stolen == []
