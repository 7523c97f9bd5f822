"""Tests of the seven.io client, against the gateway mocked at HTTP level."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)

from custom_components.callerid.api import (
    AlreadyValidated,
    Balance,
    SevenApiError,
    SevenAuthenticationError,
    SevenClient,
    SevenConnectionError,
    SevenInvalidNumberError,
    SevenMissingScopeError,
    SevenServerError,
    SevenTimeoutError,
    ValidationStarted,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .conftest import API_KEY, BALANCE_URL, VALIDATE_URL


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
        caller_id=12345, formatted_number="+49 176 12345678", voice=True
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
