"""Tests of the callerid.validate action."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import threading
from typing import Any
from unittest.mock import patch

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from phonenumbers.phonemetadata import PhoneMetadata
import probatio
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.callerid.const import DOMAIN, ENABLED_ENTITIES
from custom_components.callerid.phone import to_e164
from homeassistant.components import persistent_notification
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component

from .conftest import (
    API_KEY,
    ENTITY_ID,
    LOCAL_GATEWAY,
    NUMBER,
    SEVEN_OK,
    STATUS_ID,
    VALIDATE_URL,
    answer_validation,
    call_validate,
    callback_path,
    start_validation,
    validate_calls,
)

NEW_CODE = {"success": True, "code": "069935", "error": None}
ALREADY = {
    "id": 12345,
    "sender": "4917612345678",
    "formatted_output": "+49 176 12345678",
    "success": True,
    "error": "The caller ID has already been saved.",
    "voice": True,
}
# callerid_validation_completed for NUMBER, validated.
VALIDATED_EVENT = {
    "config_entry_id": "01JCALLERIDENTRY000000000",
    "number": NUMBER,
    "status": "validated",
    "success": True,
    "voice": True,
    "caller_id": 12345,
    "error": None,
}


def notifications(hass: HomeAssistant) -> dict[str, Any]:
    """Return the persistent notifications by id."""
    return dict(persistent_notification._async_get_or_create_notifications(hass))


@pytest.mark.usefixtures("init_integration")
async def test_whole_way(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Action, gateway, notification, seven.io's callback, sensor on."""
    answer_validation(aioclient_mock, json=NEW_CODE)
    events = async_capture_events(hass, f"{DOMAIN}_validation_completed")

    response = await call_validate(hass, number="0176 1234 5678")
    assert response == {
        "number": NUMBER,
        # For people to read, as the device is named.
        "formatted": "+49 176 12345678",
        "status": "pending",
        "code": "069935",
        "caller_id": None,
        "voice": None,
        "callback_reachable": True,
    }
    ((_, _, form, headers),) = validate_calls(aioclient_mock)
    assert form["number"] == NUMBER
    assert headers["X-Api-Key"] == API_KEY

    (notification,) = notifications(hass).values()
    assert "069935" in notification["message"]
    assert "+49 176 12345678" in notification["message"]
    assert "type the code" in notification["message"]

    state = hass.states.get(ENTITY_ID)
    assert state is not None
    assert state.state == "off"
    assert hass.states.get(STATUS_ID).state == "pending"

    client = await hass_client_no_auth()
    path = callback_path(aioclient_mock)
    resp = await client.get(path.update_query(SEVEN_OK))
    assert resp.status == 200
    await hass.async_block_till_done()

    state = hass.states.get(ENTITY_ID)
    assert state.state == "on"
    assert hass.states.get(STATUS_ID).state == "validated"
    # Read as words and text by the frontend: a caller ID is no quantity.
    assert state.attributes["voice"] is True
    assert state.attributes["caller_id"] == "12345"
    assert "status" not in state.attributes
    assert notifications(hass) == {}
    assert len(events) == 1
    assert events[0].data == VALIDATED_EVENT

    # The token is single use: the same callback again changes nothing.
    resp = await client.get(path.update_query(SEVEN_OK | {"success": "0"}))
    assert resp.status == 403
    assert hass.states.get(ENTITY_ID).state == "on"
    assert len(events) == 1


@pytest.mark.usefixtures("init_integration")
async def test_already_validated(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """A number seven.io knows already is validated at once, with no notification.

    The validation ended, validated: its event (and the trigger) says so as always.
    """
    answer_validation(aioclient_mock, json=ALREADY)
    events = async_capture_events(hass, f"{DOMAIN}_validation_completed")
    response = await call_validate(hass, number="+49 176 12345678")
    assert response == {
        "number": NUMBER,
        "formatted": "+49 176 12345678",
        "status": "validated",
        "code": None,
        # Text, as on the Caller ID sensor: an id, not a quantity.
        "caller_id": "12345",
        "voice": True,
        "callback_reachable": True,
    }
    assert hass.states.get(ENTITY_ID).state == "on"
    assert notifications(hass) == {}
    assert [event.data for event in events] == [VALIDATED_EVENT]


@pytest.mark.usefixtures("init_integration")
async def test_repeat_after_cooldown_replaces_notification_and_token(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Within the cooldown nothing is sent; after it, only the new token counts."""
    answer_validation(aioclient_mock, json=NEW_CODE)
    await call_validate(hass, number=NUMBER)
    first = callback_path(aioclient_mock)

    freezer.tick(timedelta(seconds=45))
    with pytest.raises(ServiceValidationError) as raised:
        await call_validate(hass, number="0176 12345678")
    assert raised.value.translation_key == "cooldown"
    # Home Assistant logs the message of a failed action: the number is masked.
    assert raised.value.translation_placeholders == {
        "number": "+491********78",
        "seconds": "15",
    }
    assert "15 s" in str(raised.value)
    assert len(validate_calls(aioclient_mock)) == 1

    freezer.tick(timedelta(seconds=15))
    await call_validate(hass, number=NUMBER)
    second = callback_path(aioclient_mock)
    assert first.query["token"] != second.query["token"]
    assert len(notifications(hass)) == 1

    client = await hass_client_no_auth()
    params = {"sender": "4917612345678", "success": "1", "voice": "1"}
    assert (await client.get(first.update_query(params))).status == 403
    assert hass.states.get(ENTITY_ID).state == "off"
    assert (await client.get(second.update_query(params))).status == 200
    assert hass.states.get(ENTITY_ID).state == "on"


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    "number", ["", "hello", "12", "+49 176", "+999 1234567", "0176 1234 5678 9999 99"]
)
async def test_invalid_number_sends_nothing(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, number: str
) -> None:
    """A number that is not a valid phone number is refused before any request."""
    calls = aioclient_mock.call_count
    with pytest.raises(ServiceValidationError) as raised:
        await call_validate(hass, number=number)
    assert raised.value.translation_key == "invalid_number"
    assert aioclient_mock.call_count == calls
    assert hass.states.async_entity_ids("binary_sensor") == []


@pytest.mark.usefixtures("init_integration")
async def test_invalid_number_says_how_to_type_it(hass: HomeAssistant) -> None:
    """The message tells how to type a number, national ones included; no masked echo.

    What was typed is in the form in front of the person; the log gets no number.
    """
    hass.config.country = "DE"
    with pytest.raises(ServiceValidationError) as raised:
        await call_validate(hass, number="0176 1234")
    message = str(raised.value)
    assert "*" not in message
    assert "0176" not in message
    assert "DE" in message
    assert "+49 176 12345678" in message


@pytest.mark.usefixtures("init_integration")
async def test_number_past_the_entity_limit_is_refused(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Past Home Assistant's limit of enabled entities per entry, no new number rings.

    Its entities would not be added (Home Assistant only logs that): refused with a
    translated error before any request. Numbers already there go on.
    """
    limit = len(ENABLED_ENTITIES) + 2  # one number's and the account's two
    with patch(
        "homeassistant.helpers.entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY",
        limit,
    ):
        await start_validation(hass, aioclient_mock)
        requests = len(validate_calls(aioclient_mock))
        with pytest.raises(ServiceValidationError) as raised:
            await call_validate(hass, number="+4930123456")
        assert raised.value.translation_key == "too_many_numbers"
        assert raised.value.translation_placeholders == {"limit": str(limit)}
        assert len(validate_calls(aioclient_mock)) == requests
        assert hass.states.get("binary_sensor.49_30_123456_caller_id") is None

        freezer.tick(timedelta(minutes=2))
        await call_validate(hass, number=NUMBER)
        assert len(validate_calls(aioclient_mock)) == requests + 1


@pytest.mark.usefixtures("init_integration")
async def test_too_long_input_is_refused_by_schema(hass: HomeAssistant) -> None:
    """Absurdly long input does not reach the parser."""
    with pytest.raises(probatio.Invalid, match="at most 64"):
        await call_validate(hass, number="1" * 500)


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("answer", "key"),
    [
        ({"text": "902"}, "missing_scope"),
        ({"text": "500"}, "insufficient_credit"),
        ({"text": "903"}, "forbidden_ip"),
        ({"text": "600"}, "gateway_error"),
        ({"text": "not json"}, "unexpected_response"),
        ({"json": {"error": "x"}}, "unexpected_response"),
        ({"status": 404}, "gateway_error"),
        ({"status": 503}, "gateway_unavailable"),
        ({"exc": TimeoutError()}, "timeout"),
        ({"exc": aiohttp.ClientConnectionError()}, "cannot_connect"),
        (
            {"json": {"success": False, "error": "Number is invalid", "id": None}},
            "number_rejected",
        ),
    ],
)
async def test_gateway_failures(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    answer: dict[str, Any],
    key: str,
) -> None:
    """Each failure is its own translated error; no state, one request; then it works."""
    answer_validation(aioclient_mock, **answer)
    with pytest.raises(HomeAssistantError) as raised:
        await call_validate(hass, number=NUMBER)
    assert type(raised.value) is HomeAssistantError
    assert raised.value.translation_key == key
    assert str(raised.value)  # the translation exists and renders
    assert len(validate_calls(aioclient_mock)) == 1
    assert hass.states.get(ENTITY_ID) is None
    assert notifications(hass) == {}

    aioclient_mock.clear_requests()
    answer_validation(aioclient_mock, json=NEW_CODE)
    assert (await call_validate(hass, number=NUMBER))["status"] == "pending"


@pytest.mark.usefixtures("init_integration")
async def test_concurrent_validations_ring_once(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """One request per number in flight; the others get the cooldown error at once."""
    answer = asyncio.Event()
    failing = True

    async def gateway(*_: Any) -> AiohttpClientMockResponse:
        await answer.wait()
        if failing:
            return AiohttpClientMockResponse("POST", URL(VALIDATE_URL), status=503)
        return AiohttpClientMockResponse("POST", URL(VALIDATE_URL), json=NEW_CODE)

    answer_validation(aioclient_mock, side_effect=gateway)
    calls = [
        asyncio.ensure_future(call_validate(hass, number="0176 12345678"))
        for _ in range(5)
    ]
    await asyncio.wait(calls, timeout=0.5)
    refused = [call for call in calls if call.done()]
    assert len(refused) == 4
    for call in refused:
        assert isinstance(call.exception(), ServiceValidationError)
        assert call.exception().translation_key == "cooldown"
    assert len(validate_calls(aioclient_mock)) == 1

    # A failed request lets the number go again at once.
    answer.set()
    (first,) = [call for call in calls if call not in refused]
    with pytest.raises(HomeAssistantError):
        await first
    failing = False
    assert (await call_validate(hass, number=NUMBER))["status"] == "pending"
    assert len(validate_calls(aioclient_mock)) == 2


async def test_phone_metadata_is_loaded_off_the_event_loop(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Phonenumbers reads each region's metadata from disk on first use: not in the loop."""
    loaded_in: list[str] = []

    def loader(region: str | int) -> None:
        # The metadata itself stays registered; this records where it would be read.
        loaded_in.append(threading.current_thread().name)

    PhoneMetadata.load_all()  # registered, so that the loaders below need do nothing
    monkeypatch.setattr(
        PhoneMetadata,
        "_region_available",
        dict.fromkeys(PhoneMetadata._region_metadata, loader),
    )
    monkeypatch.setattr(
        PhoneMetadata,
        "_country_code_available",
        dict.fromkeys(PhoneMetadata._country_code_metadata, loader),
    )
    to_e164.cache_clear()
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    answer_validation(gateway, json=NEW_CODE)
    for number in ("0176 12345678", "+1 202 555 0143", "+33 6 12 34 56 78"):
        await call_validate(hass, number=number)
    client = await hass_client_no_auth()
    path = callback_path(gateway)
    query = SEVEN_OK | {"sender": "33 6 12 34 56 78"}
    assert (await client.get(path.update_query(query))).status == 200
    assert loaded_in
    assert threading.main_thread().name not in loaded_in


async def test_rejected_key_starts_reauth(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """900 from the gateway raises and starts reauthentication."""
    answer_validation(aioclient_mock, text="900")
    with pytest.raises(HomeAssistantError) as raised:
        await call_validate(hass, number=NUMBER)
    assert raised.value.translation_key == "auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == init_integration.entry_id


async def test_entry_choice(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """With two loaded entries the action needs config_entry_id and checks it."""
    second = MockConfigEntry(
        domain=DOMAIN,
        title="second",
        unique_id="account-2",
        data={CONF_API_KEY: "other-key-0123456789", CONF_WEBHOOK_ID: "b" * 64},
    )
    second.add_to_hass(hass)
    assert await hass.config_entries.async_setup(second.entry_id)
    answer_validation(aioclient_mock, json=NEW_CODE)

    with pytest.raises(ServiceValidationError) as raised:
        await call_validate(hass, number=NUMBER)
    assert raised.value.translation_key == (
        "service_found_multiple_config_entry_for_domain"
    )

    with pytest.raises(ServiceValidationError) as raised:
        await call_validate(hass, number=NUMBER, config_entry_id="nope")
    assert raised.value.translation_key == "service_config_entry_not_found"

    other = MockConfigEntry(domain="persistent_notification")
    other.add_to_hass(hass)
    with pytest.raises(ServiceValidationError) as raised:
        await call_validate(hass, number=NUMBER, config_entry_id=other.entry_id)
    assert raised.value.translation_key == "service_config_entry_wrong_domain"

    await call_validate(hass, number=NUMBER, config_entry_id=second.entry_id)
    assert validate_calls(aioclient_mock)[-1][3]["X-Api-Key"] == "other-key-0123456789"
    callback = URL(validate_calls(aioclient_mock)[-1][2]["callback"])
    assert callback.path == f"/api/webhook/{'b' * 64}"
    # The cooldown is per entry: the first account may still call the number.
    await call_validate(hass, number=NUMBER, config_entry_id=init_integration.entry_id)

    await hass.config_entries.async_unload(second.entry_id)
    with pytest.raises(ServiceValidationError) as raised:
        await call_validate(hass, number=NUMBER, config_entry_id=second.entry_id)
    assert raised.value.translation_key == "service_config_entry_not_loaded"
    # Home Assistant asks for the entry while there are two, loaded or not.
    with pytest.raises(ServiceValidationError) as raised:
        await call_validate(hass, number="+4930123456")
    assert raised.value.translation_key == (
        "service_found_multiple_config_entry_for_domain"
    )


@pytest.mark.usefixtures("init_integration")
async def test_no_loaded_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Without a loaded entry the action says so."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as raised:
        await call_validate(hass, number=NUMBER)
    assert raised.value.translation_key == "service_config_entry_not_loaded"


@pytest.mark.usefixtures("init_integration")
async def test_no_callback_url(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """Without any URL for Home Assistant, nothing is sent and the user is told why."""
    hass.config.external_url = None
    hass.config.internal_url = None
    hass.config.api = None
    with pytest.raises(HomeAssistantError) as raised:
        await call_validate(hass, number=NUMBER)
    assert raised.value.translation_key == "no_callback_url"
    assert validate_calls(aioclient_mock) == []


@pytest.mark.usefixtures("init_integration")
async def test_unreachable_callback_runs_and_raises_repair(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Only an internal URL: the call still runs, says so, and a repair explains why."""
    hass.config.external_url = None
    await async_process_ha_core_config(hass, {"internal_url": "http://192.0.2.10:8123"})
    answer_validation(aioclient_mock, json=NEW_CODE)
    response = await call_validate(hass, number=NUMBER)
    assert response["status"] == "pending"
    assert response["callback_reachable"] is False
    callback = URL(validate_calls(aioclient_mock)[-1][2]["callback"])
    assert str(callback).startswith("http://192.0.2.10:8123/api/webhook/")
    assert len(callback.query["token"]) >= 32
    issue = issue_registry.async_get_issue(DOMAIN, "callback_unreachable")
    assert issue is not None
    assert issue.translation_key == "callback_unreachable"
    (notification,) = notifications(hass).values()
    assert "will not change by itself" in notification["message"]

    # An external URL makes the issue go away without another validation.
    await hass.config.async_update(external_url="https://home.example.org")
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable") is None


# External URLs whose host seven.io, on the internet, cannot reach.
LAN_URLS = [
    "http://127.0.0.1:8123",
    "http://192.168.1.20:8123",
    "http://10.0.0.5",
    "http://[::1]:8123",
    "http://[fe80::1]:8123",
    "http://[fd12:3456::1]:8123",
    "http://169.254.10.10:8123",
    # Not global, though no LAN range either: carrier-grade NAT, documentation.
    "http://100.64.0.7:8123",
    "http://192.0.2.10:8123",
    "http://localhost:8123",
    "http://localhost.:8123",
    "http://homeassistant.local:8123",
    "http://homeassistant.local.:8123",
    "http://homeassistant:8123",
]


@pytest.mark.parametrize("external_url", LAN_URLS)
@pytest.mark.usefixtures("init_integration")
async def test_lan_external_url_is_not_reachable(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    issue_registry: ir.IssueRegistry,
    external_url: str,
) -> None:
    """An external URL on the LAN or this machine is out of seven.io's reach."""
    await hass.config.async_update(external_url=external_url)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable")

    answer_validation(aioclient_mock, json=NEW_CODE)
    response = await call_validate(hass, number=NUMBER)
    assert response["callback_reachable"] is False
    # Still sent: Home Assistant has no better URL to give.
    callback = validate_calls(aioclient_mock)[-1][2]["callback"]
    assert callback.startswith(f"{external_url}/api/webhook/")
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable")
    (notification,) = notifications(hass).values()
    assert "will not change by itself" in notification["message"]


async def test_lan_url_reaches_a_gateway_on_the_lan(
    hass: HomeAssistant,
    local_gateway_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A gateway on this machine (the simulator) reaches a URL of this machine."""
    await hass.config.async_update(external_url="http://127.0.0.1:8123")
    assert await async_setup_component(hass, "persistent_notification", {})
    local_gateway_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(local_gateway_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable") is None

    aioclient_mock.post(f"{LOCAL_GATEWAY}/validate_for_voice", json=NEW_CODE)
    response = await call_validate(hass, number=NUMBER)
    assert response["callback_reachable"] is True
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable") is None
    (notification,) = notifications(hass).values()
    assert "type the code" in notification["message"]


async def test_a_reachable_entry_keeps_another_entrys_repair(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    local_gateway_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A loopback URL reaches the simulator's entry, not seven.io's: the repair stays."""
    await hass.config.async_update(external_url="http://127.0.0.1:8123")
    local_gateway_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(local_gateway_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable")

    aioclient_mock.post(f"{LOCAL_GATEWAY}/validate_for_voice", json=NEW_CODE)
    response = await call_validate(
        hass, config_entry_id=local_gateway_entry.entry_id, number=NUMBER
    )
    assert response["callback_reachable"] is True
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable")
