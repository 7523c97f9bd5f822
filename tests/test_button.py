"""A number's device page: Validate again, and a Test call to whom its select names."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.callerid.const import TEST_CALL_MESSAGE
from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import restore_state
from homeassistant.helpers.storage import Store

from .conftest import (
    ALREADY,
    NUMBER,
    SEVEN_OK,
    SEVEN_WRONG_CODE,
    STATUS_ID,
    VOICE_URL,
    Persisted,
    answer_validation,
    callback_path,
    disk_full,
    start_validation,
    validate_calls,
    voice_answer,
    voice_calls,
)
from .test_recipients import ALICE, _add, alice  # noqa: F401  # a fixture

VALIDATE_AGAIN = "button.49_176_12345678_validate_again"
TEST_CALL = "button.49_176_12345678_test_call"
TEST_CALL_TO = "select.49_176_12345678_test_call_to"


async def _press(hass: HomeAssistant, entity_id: str) -> None:
    await hass.services.async_call(
        "button", "press", {"entity_id": entity_id}, blocking=True
    )


async def _pick(hass: HomeAssistant, option: str) -> None:
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": TEST_CALL_TO, "option": option},
        blocking=True,
    )


async def test_validate_again_from_the_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The button starts a validation as the action does: the code is in a notification."""
    path = await start_validation(hass, aioclient_mock)
    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(SEVEN_WRONG_CODE))).status == 200
    assert hass.states.get(STATUS_ID).state == "failed"

    await _press(hass, VALIDATE_AGAIN)
    assert len(validate_calls(aioclient_mock)) == 2
    assert hass.states.get(STATUS_ID).state == "pending"
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert any("123456" in n["message"] for n in notifications.values())
    # Pressed again at once: the cooldown's translated error, nothing rings.
    with pytest.raises(ServiceValidationError) as raised:
        await _press(hass, VALIDATE_AGAIN)
    assert raised.value.translation_key == "cooldown"
    assert len(validate_calls(aioclient_mock)) == 2
    path = callback_path(aioclient_mock)
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    assert hass.states.get(STATUS_ID).state == "validated"


@pytest.mark.usefixtures("validated")
async def test_validate_again_says_when_seven_io_places_no_call(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """A number seven.io has validated already gets no call: the press says so."""
    with pytest.raises(ServiceValidationError) as raised:
        await _press(hass, VALIDATE_AGAIN)
    assert raised.value.translation_key == "already_validated"
    assert str(raised.value) == (
        "seven.io has already validated this number, so it placed no call: "
        "it can be the caller ID of calls"
    )
    assert len(validate_calls(aioclient_mock)) == 2
    assert hass.states.get(STATUS_ID).state == "validated"


async def test_validate_again_of_a_failed_number_seven_io_knows(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Failed here, validated at seven.io: the press validates it, with no error."""
    path = await start_validation(hass, aioclient_mock)
    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(SEVEN_WRONG_CODE))).status == 200
    aioclient_mock.clear_requests()  # the first answer that matches is given
    answer_validation(aioclient_mock, json=ALREADY)
    await _press(hass, VALIDATE_AGAIN)
    assert hass.states.get(STATUS_ID).state == "validated"


@pytest.mark.usefixtures("alice")
async def test_test_call_to_whom_the_select_names(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """The number itself first, then the recipients; each press is a counted call."""
    state = hass.states.get(TEST_CALL_TO)
    assert state.attributes["options"] == ["+49 176 12345678", "Alice"]
    assert state.state == "+49 176 12345678"
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())

    await _press(hass, TEST_CALL)
    await _pick(hass, "Alice")
    await _press(hass, TEST_CALL)
    assert [(form["from"], form["to"]) for form in voice_calls(aioclient_mock)] == [
        (NUMBER, NUMBER),
        (NUMBER, ALICE),
    ]
    assert {form["text"] for form in voice_calls(aioclient_mock)} == {TEST_CALL_MESSAGE}
    assert hass.states.get("sensor.49_176_12345678_last_call").state == "calling"


async def test_test_call_counts_against_the_hourly_limit(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """Past the option Calls per hour the button is refused before anything rings."""
    hass.config_entries.async_update_entry(
        validated, options={**validated.options, "max_calls_per_hour": 1}
    )
    await hass.async_block_till_done()
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    await _press(hass, TEST_CALL)
    with pytest.raises(ServiceValidationError) as raised:
        await _press(hass, TEST_CALL)
    assert raised.value.translation_key == "call_limit"
    assert len(voice_calls(aioclient_mock)) == 1


async def test_no_test_call_from_a_number_not_validated(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """A pending number cannot be the caller ID: a translated error, no call."""
    await start_validation(hass, aioclient_mock)
    with pytest.raises(ServiceValidationError) as raised:
        await _press(hass, TEST_CALL)
    assert raised.value.translation_key == "caller_id_not_validated"
    assert voice_calls(aioclient_mock) == []


@pytest.mark.usefixtures("alice")
async def test_the_pick_survives_a_reload(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """What was picked is picked again after a reload; a pick gone falls back."""
    await _pick(hass, "Alice")
    assert await hass.config_entries.async_reload(validated.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(TEST_CALL_TO).state == "Alice"
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    await _press(hass, TEST_CALL)
    assert [form["to"] for form in voice_calls(aioclient_mock)] == [ALICE]

    (recipient,) = validated.get_subentries_of_type("recipient")
    hass.config_entries.async_remove_subentry(validated, recipient.subentry_id)
    await hass.async_block_till_done()  # a reload
    state = hass.states.get(TEST_CALL_TO)
    assert (state.state, state.attributes["options"]) == (
        "+49 176 12345678",
        ["+49 176 12345678"],
    )


@pytest.mark.usefixtures("alice")
async def test_the_pick_is_in_the_entrys_file(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    persisted: Persisted,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """The pick is written to the entry's file, and a restart reads it from there."""
    await _pick(hass, "Alice")
    assert persisted.data()["test_call_to"] == {NUMBER: ALICE}
    assert await hass.config_entries.async_unload(validated.entry_id)
    await hass.async_block_till_done()
    # Nothing else kept it: Home Assistant's restore cache knows no pick.
    restore_state.async_get(hass).last_states.clear()
    assert await hass.config_entries.async_setup(validated.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(TEST_CALL_TO).state == "Alice"
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    await _press(hass, TEST_CALL)
    assert [form["to"] for form in voice_calls(aioclient_mock)] == [ALICE]


@pytest.mark.usefixtures("alice")
async def test_a_pick_not_written_changes_nothing(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    persisted: Persisted,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """On a full disk the pick is refused with the translated error; all stays as it was."""
    with disk_full(), pytest.raises(HomeAssistantError) as raised:
        await _pick(hass, "Alice")
    assert raised.value.translation_key == "storage_write_failed"
    assert hass.states.get(TEST_CALL_TO).state == "+49 176 12345678"
    assert persisted.data().get("test_call_to", {}) == {}
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    await _press(hass, TEST_CALL)
    assert [form["to"] for form in voice_calls(aioclient_mock)] == [NUMBER]


@pytest.mark.usefixtures("validated")
async def test_a_recipient_named_as_the_number(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """The number's own option still calls the number."""
    result = await _add(
        hass,
        hass.config_entries.async_entries("callerid")[0],
        name="+49 176 12345678",
        number="030 123456",
        caller_id=NUMBER,
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert hass.states.get(TEST_CALL_TO).attributes["options"] == ["+49 176 12345678"]
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    await _press(hass, TEST_CALL)
    assert [form["to"] for form in voice_calls(aioclient_mock)] == [NUMBER]


@pytest.mark.usefixtures("alice")
async def test_a_pick_whose_caller_hangs_up_completes(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    persisted: Persisted,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """A pick cancelled while it is written still takes: file, select and button agree."""
    entered, release = asyncio.Event(), asyncio.Event()
    real_write = Store._async_write_data

    async def slow_write(store: Store[Any], data: dict[str, Any]) -> None:
        entered.set()
        await release.wait()
        await real_write(store, data)

    with patch.object(Store, "_async_write_data", slow_write):
        picking = hass.async_create_task(_pick(hass, "Alice"))
        await entered.wait()
        picking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await picking
        release.set()
        await hass.async_block_till_done()
    assert persisted.data()["test_call_to"] == {NUMBER: ALICE}
    assert hass.states.get(TEST_CALL_TO).state == "Alice"
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    await _press(hass, TEST_CALL)
    assert [form["to"] for form in voice_calls(aioclient_mock)] == [ALICE]
