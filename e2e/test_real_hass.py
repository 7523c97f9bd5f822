"""The whole product against a real Home Assistant process and the gateway simulator."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import pytest
from yarl import URL

from callerid_dev.gateway_sim import Simulator
from callerid_dev.harness import HassClient, HassProcess

pytestmark = pytest.mark.e2e

NUMBER = "+4917612345678"
ENTITY_ID = "binary_sensor.49_176_12345678_caller_id"
STATUS_ID = "sensor.49_176_12345678_status"


async def keypad(
    http: aiohttp.ClientSession, sim_url: str, number: str, digits: str
) -> dict[str, Any]:
    """Type digits on the phone the simulator is calling."""
    async with http.post(
        f"{sim_url}/_sim/keypad", json={"number": number, "digits": digits}
    ) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


def last_validation(sim: Simulator) -> dict[str, Any]:
    """Return the last validation request the simulator received.

    (The entry also talks to seven.io for its own reasons, such as its call hook.)
    """
    return next(
        r for r in reversed(sim.requests) if r["path"] == "/api/validate_for_voice"
    )


async def test_validate_kill_restart_keypad(
    simulator: tuple[Simulator, str],
    hass_process: HassProcess,
    hass_api: HassClient,
    http: aiohttp.ClientSession,
) -> None:
    """Onboard, configure, validate; SIGKILL hass; restart; type the code; sensor on."""
    sim, sim_url = simulator
    entry = await hass_api.add_callerid("demo-key", f"{sim_url}/api")
    assert entry["state"] == "loaded"

    response = await hass_api.validate("0176 1234 5678")
    assert response["number"] == NUMBER
    assert response["status"] == "pending"
    assert response["callback_reachable"] is True
    code = response["code"]
    assert re.fullmatch(r"\d{6}", code)

    (notification,) = [
        n
        for n in await hass_api.notifications()
        if n["notification_id"].startswith("callerid_")
    ]
    assert code in notification["message"]

    request = last_validation(sim)
    assert request["headers"]["X-Api-Key"] == "demo-key"
    callback = URL(request["params"]["callback"])
    assert callback.path.startswith("/api/webhook/")
    assert "token" in callback.query

    await hass_api.wait_for_state(ENTITY_ID, "off")
    await hass_api.wait_for_state(STATUS_ID, "pending")

    # Nothing is lost: a hard kill between the call and the keypad.
    await asyncio.sleep(2)
    hass_process.kill()
    await hass_process.start()
    await hass_api.login()
    await hass_api.wait_until_running()

    result = await keypad(http, sim_url, NUMBER, code)
    assert result["validated"] is True
    assert result["callback"] == [200]
    state = await hass_api.wait_for_state(ENTITY_ID, "on")
    await hass_api.wait_for_state(STATUS_ID, "validated")
    assert state["attributes"]["caller_id"] == "12345"
    assert state["attributes"]["voice"] is True
    assert not [
        n
        for n in await hass_api.notifications()
        if n["notification_id"].startswith("callerid_")
    ]

    # Asked again, the gateway answers "already validated" and nothing rings.
    again = await hass_api.validate(NUMBER)
    assert again["status"] == "validated"
    assert again["code"] is None
    assert again["caller_id"] == "12345"


async def test_wrong_code_and_forgeries(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
) -> None:
    """A wrong code gives failed; forged callbacks change nothing."""
    sim, sim_url = simulator
    await hass_api.add_callerid("demo-key", f"{sim_url}/api")

    other = "+4930123456"
    first = await hass_api.validate(other)
    await hass_api.validate(NUMBER)
    callback = URL(last_validation(sim)["params"]["callback"])
    token = callback.query["token"]
    seven = {
        "id": "1",
        "sender": "4917612345678",
        "formatted_output": "+49 176 12345678",
        "success": "1",
        "error": "",
        "voice": "1",
    }
    forgeries = [
        (dict(seven), 400),
        (seven | {"token": "A" * 43}, 403),
        (seven | {"token": token, "sender": "4930123456"}, 403),
        (seven | {"token": token, "sender": "4917612345679"}, 403),
    ]
    for params, status in forgeries:
        async with http.get(callback.with_query(params)) as response:
            assert response.status == status, params
    await hass_api.wait_for_state(ENTITY_ID, "off")
    await hass_api.wait_for_state(STATUS_ID, "pending")

    wrong = "000000" if first["code"] != "000000" else "111111"
    result = await keypad(http, sim_url, other, wrong)
    assert result == {"number": other, "validated": False, "callback": [200]}
    await hass_api.wait_for_state("binary_sensor.49_30_123456_caller_id", "off")
    state = await hass_api.wait_for_state("sensor.49_30_123456_status", "failed")
    assert state["attributes"]["error"]
