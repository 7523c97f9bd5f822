"""Calls whose status event never came are ended from seven.io's voice journal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)

from custom_components.callerid.const import DOMAIN
from homeassistant.core import HomeAssistant

from .conftest import JOURNAL_URL, NUMBER, RECIPIENT, answer_from_now_on

LAST_CALL_ID = "sensor.49_176_12345678_last_call"


def journal(aioclient_mock: AiohttpClientMocker, **answer: Any) -> None:
    """Make the journal answer so from now on (the other answers as before)."""
    answer_from_now_on(aioclient_mock, JOURNAL_URL, **answer)


def row(call_id: str, status: str, duration: str | None) -> dict[str, Any]:
    """Return a row of the voice journal as seven.io's OpenAPI shows it."""
    return {
        "id": call_id,
        "from": NUMBER.removeprefix("+"),
        "to": RECIPIENT.removeprefix("+"),
        "text": "Hello",
        "timestamp": "2026-12-03 12:00:00",
        "price": "0.045",
        "xml": False,
        "duration": duration,
        "status": status,
        "error": "",
    }


def lookups(aioclient_mock: AiohttpClientMocker) -> list[str]:
    """Return the date_from of each journal request."""
    return [
        request[1].query["date_from"]
        for request in aioclient_mock.mock_calls
        if str(request[1]).startswith(JOURNAL_URL)
    ]


async def later(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: int
) -> None:
    """Let `minutes` pass."""
    freezer.tick(timedelta(minutes=minutes))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_a_call_without_its_event_is_ended_from_the_journal(
    hass: HomeAssistant,
    placed: str,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Still Calling after 15 minutes: one journal request, and the call ends from it."""
    events = async_capture_events(hass, f"{DOMAIN}_call_ended")
    journal(
        aioclient_mock,
        json=[row("1", "completed", "5"), row(placed, "completed", "42")],
    )
    await later(hass, freezer, 14)
    assert lookups(aioclient_mock) == []
    await later(hass, freezer, 2)
    assert len(lookups(aioclient_mock)) == 1
    assert [
        (e.data["call_id"], e.data["answered"], e.data["duration"]) for e in events
    ] == [(placed, True, 42)]
    assert hass.states.get(LAST_CALL_ID).state == "answered"
    # Nothing is left Calling: no more lookups.
    await later(hass, freezer, 60)
    assert len(lookups(aioclient_mock)) == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"json": [row("900000001", "", None)]},
        {"json": [row("900000001", "in-progress", "")]},
        {"json": []},
        {"status": 500},
        {"text": "902"},
    ],
    ids=["no status yet", "in progress", "not listed", "gateway error", "no right"],
)
async def test_a_call_going_on_is_looked_up_again(
    hass: HomeAssistant,
    placed: str,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
    answer: dict[str, Any],
) -> None:
    """Not ended in the journal (or no journal): still Calling, asked again later."""
    assert placed == "900000001"
    journal(aioclient_mock, **answer)
    await later(hass, freezer, 16)
    assert len(lookups(aioclient_mock)) == 1
    assert hass.states.get(LAST_CALL_ID).state == "calling"
    await later(hass, freezer, 14)
    assert len(lookups(aioclient_mock)) == 1
    await later(hass, freezer, 2)
    assert len(lookups(aioclient_mock)) == 2


async def test_after_a_restart_every_call_ringing_is_looked_up(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """Its event may have come while Home Assistant was down: asked at once."""
    journal(aioclient_mock, json=[row(placed, "no-answer", None)])
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert len(lookups(aioclient_mock)) == 1
    assert hass.states.get(LAST_CALL_ID).state == "not_answered"
