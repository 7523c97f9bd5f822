"""Tests of the automation trigger "Caller ID validation completed"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.callerid.const import DOMAIN
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr

from .conftest import NUMBER, SEVEN_OK, set_up_automation, start_validation

SECOND = "+4930123456"


async def set_up_validation_trigger(
    hass: HomeAssistant, options: dict[str, Any]
) -> list[ServiceCall]:
    """Set up an automation with the validation trigger; return its action's calls."""
    return await set_up_automation(
        hass,
        "validation_completed",
        options,
        {
            # Kept text: a template that renders only digits gives an int.
            "number": "{{ trigger.number | replace('+', 'plus ') }}",
            "status": "{{ trigger.status }}",
            "outcome": "{{ trigger.outcome }}",
            "device_id": "{{ trigger.device_id }}",
        },
    )


async def test_any_number_any_outcome(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Without options, every completion triggers, with the number and its device."""
    path = await start_validation(hass, aioclient_mock)
    calls = await set_up_validation_trigger(hass, {})
    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    await hass.async_block_till_done()
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{init_integration.entry_id}_{NUMBER}"), init_integration.entry_id
    )
    assert [call.data for call in calls] == [
        {
            "number": NUMBER.replace("+", "plus "),
            "status": "validated",
            "outcome": "validated",
            "device_id": device.id,
        }
    ]


async def test_chosen_number_and_outcome(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    device_registry: dr.DeviceRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Only the chosen number's device and the chosen outcomes trigger."""
    first = await start_validation(hass, aioclient_mock)
    second = await start_validation(hass, aioclient_mock, SECOND)
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{init_integration.entry_id}_{NUMBER}"), init_integration.entry_id
    )
    calls = await set_up_validation_trigger(
        hass, {"device_id": [device.id], "outcome": ["failed", "expired"]}
    )
    client = await hass_client_no_auth()
    # The other number fails: not chosen.
    other = SEVEN_OK | {"sender": SECOND.removeprefix("+"), "success": "0"}
    assert (await client.get(second.update_query(other))).status == 200
    # The chosen number validates: not a chosen outcome.
    assert (await client.get(first.update_query(SEVEN_OK))).status == 200
    await hass.async_block_till_done()
    assert calls == []

    # It expires: chosen number, chosen outcome.
    await start_validation(hass, aioclient_mock)
    freezer.tick(timedelta(minutes=15))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert [call.data["status"] for call in calls] == ["expired"]


@pytest.mark.parametrize(
    "options", [{"outcome": ["pending"]}, {"outcome": "sideways"}, {"unknown": 1}]
)
async def test_bad_options_are_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry, options: dict[str, Any]
) -> None:
    """An outcome that does not exist makes the automation invalid."""
    await set_up_validation_trigger(hass, options)
    assert hass.states.get("automation.automation_0") is None or (
        hass.states.get("automation.automation_0").state == "unavailable"
    )
