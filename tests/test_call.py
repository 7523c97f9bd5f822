"""Tests of the callerid.call action: calls from a validated caller ID."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from yarl import URL

from custom_components.callerid.const import DOMAIN
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er

from .conftest import (
    ALREADY,
    ENTITY_ID,
    NUMBER,
    RECIPIENT,
    VOICE_URL,
    answer_validation,
    call,
    call_validate,
    start_validation,
    voice_answer,
    voice_calls,
)

OTHER = "+4940123456"


@pytest.mark.usefixtures("validated")
async def test_call_from_the_sensor(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """The UI's picker gives the Caller ID sensor; each recipient gets one request."""
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    events = async_capture_events(hass, f"{DOMAIN}_call_placed")

    response = await call(
        hass,
        caller_id=ENTITY_ID,
        to=["030 123456", "+49 40 123456"],
        message="The alarm went off.",
        ringtime=20,
    )

    assert response == {
        "calls": [
            {
                "to": RECIPIENT,
                "call_id": "900000001",
                "success": True,
                "error": None,
                "price": 0.045,
            },
            {
                "to": OTHER,
                "call_id": "900000002",
                "success": True,
                "error": None,
                "price": 0.045,
            },
        ],
        "total_price": 0.09,
        "balance": 12.3,
        "outcome_reported": True,
    }
    forms = voice_calls(aioclient_mock)
    assert [form["to"] for form in forms] == [RECIPIENT, OTHER]
    assert {form["from"] for form in forms} == {NUMBER}
    assert {form["text"] for form in forms} == {"The alarm went off."}
    assert {form["ringtime"] for form in forms} == {"20"}
    # The action's calls share an id of our own, returned in seven.io's status events.
    (foreign_id,) = {form["foreign_id"] for form in forms}
    assert len(foreign_id) == 16
    await hass.async_block_till_done()
    assert [
        (event.data["call_id"], event.data["to"], event.data["price"])
        for event in events
    ] == [("900000001", RECIPIENT, 0.045), ("900000002", OTHER, 0.045)]


@pytest.mark.usefixtures("validated")
@pytest.mark.parametrize(
    "caller_id",
    [
        "sensor.49_176_12345678_status",
        "sensor.49_176_12345678_last_call",
        "binary_sensor.49_176_12345678_caller_id",
    ],
)
async def test_call_from_any_entity_of_the_number(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, caller_id: str
) -> None:
    """Any entity of the number's device names it as caller ID, Last call too."""
    assert hass.states.get(caller_id) is not None
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    await call(hass, caller_id=caller_id, to=RECIPIENT, message="Hello")
    assert [form["from"] for form in voice_calls(aioclient_mock)] == [NUMBER]


@pytest.mark.usefixtures("validated")
async def test_another_integrations_entity_is_no_caller_id(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """An entity of another integration is refused by its id, before anything rings."""
    other = er.async_get(hass).async_get_or_create("sensor", "demo", "phone")
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, caller_id=other.entity_id, to=RECIPIENT, message="Hello")
    assert raised.value.translation_key == "caller_id_unknown"
    assert other.entity_id in str(raised.value)
    assert voice_calls(aioclient_mock) == []


@pytest.mark.usefixtures("validated")
async def test_call_from_the_number_as_typed(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """In YAML the caller ID may be the number in any format; no ringtime, none sent."""
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    response = await call(
        hass, caller_id="0176 1234 5678", to=RECIPIENT, message="Hello"
    )
    assert [row["success"] for row in response["calls"]] == [True]
    (form,) = voice_calls(aioclient_mock)
    assert "ringtime" not in form


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"caller_id": "+4917600000000"}, "caller_id_not_validated"),
        ({"caller_id": "no number"}, "invalid_number"),
        ({"to": ["12"]}, "invalid_number"),
        ({"to": []}, "recipients_count"),
        ({"message": "   "}, "message_length"),
        ({"message": "x" * 10_001}, "message_length"),
        ({"ringtime": 4}, "ringtime_range"),
        ({"ringtime": 61}, "ringtime_range"),
    ],
)
@pytest.mark.usefixtures("validated")
async def test_refused_before_anything_is_sent(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    data: dict[str, Any],
    key: str,
) -> None:
    """Bad input is refused with its own translated error; nothing rings."""
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    with pytest.raises(ServiceValidationError) as raised:
        await call(
            hass,
            **{"caller_id": ENTITY_ID, "to": RECIPIENT, "message": "Hello"} | data,
        )
    assert raised.value.translation_key == key
    assert voice_calls(aioclient_mock) == []


async def test_pending_number_may_not_call(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """A number whose validation is still pending is no caller ID yet."""
    await start_validation(hass, aioclient_mock)
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, caller_id=NUMBER, to=RECIPIENT, message="Hello")
    assert raised.value.translation_key == "caller_id_not_validated"
    assert raised.value.translation_placeholders["status"] == "pending"


async def test_number_not_for_voice_may_not_call(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """seven.io said the number may not be used for voice calls."""
    answer_validation(aioclient_mock, json=ALREADY | {"voice": False})
    await call_validate(hass, number=NUMBER)
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, caller_id=NUMBER, to=RECIPIENT, message="Hello")
    assert raised.value.translation_key == "caller_id_not_for_voice"
    assert voice_calls(aioclient_mock) == []


@pytest.mark.usefixtures("validated")
async def test_hourly_limit(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """At most the option's number of calls per hour; the refusal names the limit."""
    hass.config_entries.async_update_entry(validated, options={"max_calls_per_hour": 3})
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    await call(hass, caller_id=NUMBER, to=[RECIPIENT, OTHER], message="Hello")
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, caller_id=NUMBER, to=[RECIPIENT, OTHER], message="Hello")
    assert raised.value.translation_key == "call_limit"
    assert "hourly call limit (3)" in str(raised.value)
    assert len(voice_calls(aioclient_mock)) == 2

    await call(hass, caller_id=NUMBER, to=RECIPIENT, message="Hello")
    freezer.tick(3601)
    await call(hass, caller_id=NUMBER, to=[RECIPIENT, OTHER], message="Hello")
    assert len(voice_calls(aioclient_mock)) == 5


@pytest.mark.usefixtures("validated")
async def test_refused_recipient_is_a_row(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """One recipient refused, another called: the refusal is in its row, not raised."""
    accepted = voice_answer()
    refused = voice_answer(success=False, error="Invalid recipient")

    async def answer(method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        if data["to"] == OTHER:
            return await refused(method, url, data)
        return await accepted(method, url, data)

    aioclient_mock.post(VOICE_URL, side_effect=answer)
    response = await call(
        hass, caller_id=NUMBER, to=[OTHER, RECIPIENT], message="Hello"
    )
    assert [(row["to"], row["success"], row["error"]) for row in response["calls"]] == [
        (OTHER, False, "Invalid recipient"),
        (RECIPIENT, True, None),
    ]
    assert response["total_price"] == 0.045


@pytest.mark.usefixtures("validated")
async def test_every_call_refused_raises(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """When nothing went through, the action fails with seven.io's reason."""
    aioclient_mock.post(
        VOICE_URL, side_effect=voice_answer(success=False, error="Invalid sender")
    )
    with pytest.raises(HomeAssistantError) as raised:
        await call(hass, caller_id=NUMBER, to=RECIPIENT, message="Hello")
    assert raised.value.translation_key == "call_refused"
    assert "Invalid sender" in str(raised.value)


@pytest.mark.parametrize(
    ("answer", "key"),
    [
        ({"text": "900"}, "auth_failed"),
        ({"text": "500"}, "insufficient_credit"),
        ({"exc": TimeoutError()}, "timeout"),
        ({"status": 503}, "gateway_unavailable"),
    ],
)
@pytest.mark.usefixtures("validated")
async def test_gateway_errors(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    answer: dict[str, Any],
    key: str,
) -> None:
    """Gateway failures raise their translated error; a rejected key starts reauth."""
    aioclient_mock.post(VOICE_URL, **answer)
    with pytest.raises(HomeAssistantError) as raised:
        await call(hass, caller_id=NUMBER, to=[RECIPIENT, OTHER], message="Hello")
    assert raised.value.translation_key == key
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    reauth = [flow for flow in flows if flow["context"]["source"] == SOURCE_REAUTH]
    assert bool(reauth) is (key == "auth_failed")
    # Never retried: a rejected key stops at the first request.
    assert len(voice_calls(aioclient_mock)) == (1 if key == "auth_failed" else 2)
