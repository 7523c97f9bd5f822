"""The account's Balance sensor, its Low balance sensor and the low-credit repair."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)

from custom_components.callerid.const import DOMAIN
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util

from .conftest import ANALYTICS_URL, BALANCE_URL, HOOKS_URL, answer_from_now_on

BALANCE = "sensor.seven_io_balance"
LOW = "binary_sensor.seven_io_low_balance"
SPENT = "sensor.seven_io_spent_today"


def answer_balance(aioclient_mock: AiohttpClientMocker, **answer: object) -> None:
    """Make seven.io answer the balance request so from now on."""
    answer_from_now_on(aioclient_mock, BALANCE_URL, **answer)


async def test_balance_follows_the_calls(
    hass: HomeAssistant,
    placed: str,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Known after setup, updated by each call's answer, asked again hourly."""
    # The call's answer said 12.3 (setup's balance request 12.34).
    state = hass.states.get(BALANCE)
    assert (state.state, state.attributes["unit_of_measurement"]) == ("12.3", "EUR")
    assert state.attributes["device_class"] == "monetary"

    answer_balance(aioclient_mock, json={"amount": 7.5, "currency": "EUR"})
    freezer.tick(timedelta(minutes=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(BALANCE).state == "7.5"
    paths = [c[1].path for c in aioclient_mock.mock_calls]
    assert paths.count("/api/balance") == 1, paths


async def test_spent_today(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Today's cost from seven.io's analytics, at setup and hourly; 902: unavailable."""
    today = dt_util.now().date().isoformat()
    rows = [{"date": "2026-01-01", "usage_eur": 9}, {"date": today, "usage_eur": 0.135}]
    answer_from_now_on(aioclient_mock, ANALYTICS_URL, json=rows)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    state = hass.states.get(SPENT)
    assert (state.state, state.attributes["unit_of_measurement"]) == ("0.135", "EUR")
    (asked,) = [c[1] for c in aioclient_mock.mock_calls if c[1].path.endswith("date")]
    assert dict(asked.query) == {"start": today, "end": today}

    for answer, shown in (("700", "0.135"), ("902", STATE_UNAVAILABLE)):
        answer_from_now_on(aioclient_mock, ANALYTICS_URL, text=answer)
        freezer.tick(timedelta(minutes=61))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        assert hass.states.get(SPENT).state == shown  # an error keeps the last value


async def test_spent_today_starts_again_at_midnight(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """At midnight the new day is asked; yesterday's figure is never shown as today's."""
    freezer.move_to(dt_util.start_of_local_day() + timedelta(hours=23, minutes=30))
    today = dt_util.now().date().isoformat()
    answer_from_now_on(
        aioclient_mock, ANALYTICS_URL, json=[{"date": today, "usage_eur": 0.1}]
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(SPENT).state == "0.1"

    freezer.tick(timedelta(minutes=30, seconds=1))  # the hourly poll is not due
    tomorrow = dt_util.now().date().isoformat()
    answer_from_now_on(
        aioclient_mock, ANALYTICS_URL, json=[{"date": tomorrow, "usage_eur": 0.045}]
    )
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(SPENT).state == "0.045"

    # The next midnight seven.io does not answer: unavailable, not the day before's.
    answer_from_now_on(aioclient_mock, ANALYTICS_URL, status=503)
    freezer.tick(timedelta(days=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(SPENT).state == STATE_UNAVAILABLE


async def test_without_the_balance_right_the_sensor_is_unavailable(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    issue_registry: ir.IssueRegistry,
) -> None:
    """902: unavailable, not an error; no repair."""
    answer_balance(aioclient_mock, text="902")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    assert not [
        i
        for i in issue_registry.issues.values()
        if i.domain == DOMAIN and "balance" in i.issue_id
    ]


async def test_warn_below(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    entity_registry: er.EntityRegistry,
    issue_registry: ir.IssueRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Below the option's amount: a repair and Low balance on; topped up: both gone."""
    answer_balance(aioclient_mock, json={"amount": 4.2, "currency": "EUR"})
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_config_entry, options={"warn_below": 5})
    # Disabled by default (an entry's enabled entities are capped): enabled here.
    entity_registry.async_get_or_create(
        "binary_sensor",
        DOMAIN,
        f"{mock_config_entry.entry_id}_low_balance",
        config_entry=mock_config_entry,
        suggested_object_id="seven_io_low_balance",
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    issue_id = f"balance_low_{mock_config_entry.entry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "title": mock_config_entry.title,
        "balance": "4.20",
        "currency": "EUR",
        "below": "5",
    }
    assert hass.states.get(LOW).state == "on"

    answer_balance(aioclient_mock, json={"amount": 50.0, "currency": "EUR"})
    freezer.tick(timedelta(minutes=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert hass.states.get(LOW).state == "off"


async def test_low_balance_is_disabled_by_default(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The account's Low balance sensor is there, disabled; the Balance sensor enabled."""
    low = entity_registry.async_get(LOW)
    assert low is not None
    assert low.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert entity_registry.async_get(BALANCE).disabled_by is None


async def test_removing_the_entry_drops_its_low_credit_repair(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The repair is the entry's: it goes with the entry."""
    answer_balance(aioclient_mock, json={"amount": 1.0, "currency": "EUR"})
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_config_entry, options={"warn_below": 5})
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    issue_id = f"balance_low_{mock_config_entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    aioclient_mock.delete(HOOKS_URL, json={"success": True})
    assert await hass.config_entries.async_remove(mock_config_entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
