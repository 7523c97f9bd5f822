"""Tests of the callerid.hang_up action: ending the calls of a caller ID that go on."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.callerid.const import DOMAIN
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .conftest import GATEWAY, NUMBER, RECIPIENT, call
from .test_call_status import event, hook_path

CALLER_ID = "binary_sensor.49_176_12345678_caller_id"


def hangup_url(call_id: str) -> str:
    """Return seven.io's hang-up endpoint of a call."""
    return f"{GATEWAY}/voice/{call_id}/hangup"


def hung_up(aioclient_mock: AiohttpClientMocker) -> list[str]:
    """Return the calls a hang-up was asked for, in order."""
    return [
        str(request[1]).removeprefix(f"{GATEWAY}/voice/").removesuffix("/hangup")
        for request in aioclient_mock.mock_calls
        if str(request[1]).endswith("/hangup")
    ]


async def hang_up(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Perform callerid.hang_up and return its response."""
    response = await hass.services.async_call(
        DOMAIN, "hang_up", data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def test_hang_up_the_calls_that_go_on(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Each call still Calling is ended; one that ended already is left alone."""
    second = str(
        (await call(hass, caller_id=NUMBER, to="+4940123456", message="Hi"))["calls"][
            0
        ]["call_id"]
    )
    client = await hass_client_no_auth()
    ended = await client.post(hook_path(init_integration), json=event(second))
    assert ended.status == 200
    aioclient_mock.post(hangup_url(placed), json={"success": True, "error": None})

    response = await hang_up(hass, caller_id=CALLER_ID)

    assert hung_up(aioclient_mock) == [placed]
    assert response == {
        "calls": [{"call_id": placed, "to": RECIPIENT, "success": True, "error": None}]
    }
    # The call goes on as Calling until seven.io reports how it ended.
    assert init_integration.runtime_data.calls.calls[placed].outcome == "calling"


async def test_hang_up_only_the_calls_named(
    hass: HomeAssistant, placed: str, aioclient_mock: AiohttpClientMocker
) -> None:
    """With call ids, only those; nothing else going on is nothing to end."""
    assert await hang_up(hass, caller_id=NUMBER, call_id=["999"]) == {"calls": []}
    assert hung_up(aioclient_mock) == []


async def test_hang_up_refused(
    hass: HomeAssistant, placed: str, aioclient_mock: AiohttpClientMocker
) -> None:
    """seven.io's refusal (the call ended meanwhile) is in the response, not raised."""
    aioclient_mock.post(
        hangup_url(placed), json={"success": False, "error": "Call is not active"}
    )
    response = await hang_up(hass, caller_id=NUMBER, call_id=placed)
    assert response["calls"][0] | {"to": None} == {
        "call_id": placed,
        "to": None,
        "success": False,
        "error": "Call is not active",
    }


@pytest.mark.parametrize(
    ("answer", "key"), [("900", "auth_failed"), ("{}", "unexpected_response")]
)
async def test_hang_up_gateway_errors(
    hass: HomeAssistant,
    placed: str,
    aioclient_mock: AiohttpClientMocker,
    answer: str,
    key: str,
) -> None:
    """A rejected key raises its translated error and starts reauthentication."""
    aioclient_mock.post(hangup_url(placed), text=answer)
    with pytest.raises(HomeAssistantError) as raised:
        await hang_up(hass, caller_id=NUMBER)
    assert raised.value.translation_key == key
    flows = hass.config_entries.flow.async_progress()
    reauth = [flow for flow in flows if flow["context"]["source"] == SOURCE_REAUTH]
    assert bool(reauth) is (key == "auth_failed")
