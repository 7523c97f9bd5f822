"""Tests of how calls end: seven.io's voice_status events, the hook, the Last call sensor."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.callerid.const import CONF_CALL_WEBHOOK_ID, DOMAIN
from custom_components.callerid.helpers import call_webhook_id
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.storage import Store

from .conftest import (
    ALREADY,
    EXTERNAL_URL,
    HOOKS_URL,
    LOCAL_GATEWAY,
    NUMBER,
    RECIPIENT,
    VOICE_URL,
    answer_validation,
    call,
    call_validate,
    disk_full,
    set_up_automation,
    voice_answer,
)

LAST_CALL_ID = "sensor.49_176_12345678_last_call"


def event(call_id: str, status: str = "completed", duration: str = "17") -> Any:
    """Return a voice_status event as seven.io posts it."""
    return {
        "webhook_event": "voice_status",
        "webhook_timestamp": "2026-11-27 12:00:00",
        "data": {
            "id": call_id,
            "callerId": NUMBER,
            "recipient": RECIPIENT.removeprefix("+"),
            "status": status,
            "duration": duration,
            "pricePerMinute": 0.045,
            "timestamp": 1767225600,
        },
    }


def hook(hook_id: str, target_url: str) -> dict[str, Any]:
    """Return a hook as seven.io lists it."""
    return {
        "id": hook_id,
        "target_url": target_url,
        "event_type": "voice_status",
        "request_method": "JSON",
        "enabled": True,
        "created": "2026-11-01 10:00:00",
        "headers": "",
        "event_filter": None,
    }


def hook_path(entry: MockConfigEntry) -> str:
    """Return the path of the entry's voice_status webhook."""
    return f"/api/webhook/{call_webhook_id(entry)}"


async def test_hook_created_at_setup(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """The entry makes sure seven.io reports ended calls to its own webhook."""
    created = [
        call[2]
        for call in aioclient_mock.mock_calls
        if call[0] == "POST" and str(call[1]) == HOOKS_URL
    ]
    assert created == [
        {
            "target_url": f"{EXTERNAL_URL}{hook_path(init_integration)}",
            "event_type": "voice_status",
            "request_method": "JSON",
        }
    ]
    assert init_integration.runtime_data.hooks.outcome_reported is True


@pytest.mark.parametrize(
    ("existing", "deleted", "created"),
    [
        # Ours at the right URL: kept, nothing created.
        ("{url}", [], False),
        # Ours at an old URL: replaced.
        ("https://old.example.org/api/webhook/{webhook_id}", ["7"], True),
        # Someone else's hook: left alone.
        ("https://elsewhere.example.org/hook", [], True),
    ],
)
async def test_hook_kept_replaced_or_added(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    existing: str,
    deleted: list[str],
    created: bool,
) -> None:
    """Exactly one hook to the entry, at its current URL; others' hooks untouched."""
    webhook_id = "f" * 64
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, CONF_CALL_WEBHOOK_ID: webhook_id},
    )
    url = f"{EXTERNAL_URL}/api/webhook/{webhook_id}"
    gateway.clear_requests()
    gateway.get(f"{HOOKS_URL.removesuffix('/hooks')}/balance", json={"amount": 1})
    gateway.get(
        HOOKS_URL,
        json={
            "success": True,
            "hooks": [
                {
                    "id": "7",
                    "target_url": existing.format(url=url, webhook_id=webhook_id),
                    "event_type": "voice_status",
                    "request_method": "JSON",
                    "enabled": True,
                    "created": "2026-11-01 10:00:00",
                    "headers": "",
                    "event_filter": None,
                }
            ],
        },
    )
    gateway.post(HOOKS_URL, json={"success": True, "id": 8})
    gateway.delete(HOOKS_URL, json={"success": True})
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    calls = [
        (c[0], c[2])
        for c in gateway.mock_calls
        if str(c[1].with_query(None)) == HOOKS_URL
    ]
    assert [form["id"] for method, form in calls if method == "DELETE"] == deleted
    assert any(method == "POST" for method, _ in calls) is created
    assert mock_config_entry.runtime_data.hooks.outcome_reported is True


async def test_key_without_hooks_right(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Calls still work; the response says outcomes are not reported; a repair says why."""
    gateway.clear_requests()
    gateway.get(f"{HOOKS_URL.removesuffix('/hooks')}/balance", json={"amount": 1})
    gateway.get(HOOKS_URL, text="902")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    issue = issue_registry.async_get_issue(
        DOMAIN, f"hooks_right_missing_{mock_config_entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders == {"title": "seven.io"}
    assert mock_config_entry.runtime_data.hooks.outcome_reported is False


@pytest.mark.parametrize("external_url", [None, "http://192.168.1.20:8123"])
async def test_no_public_url_no_hook(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    external_url: str | None,
) -> None:
    """Without a URL seven.io could reach, no hook is made (the repair explains).

    A LAN address is no such URL. The account's hooks are still listed: one left
    from an earlier URL is deleted.
    """
    await hass.config.async_update(external_url=external_url)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [c[0] for c in gateway.mock_calls if str(c[1]) == HOOKS_URL] == ["GET"]
    assert mock_config_entry.runtime_data.hooks.outcome_reported is False


async def test_local_gateway_gets_a_hook_at_a_loopback_url(
    hass: HomeAssistant,
    local_gateway_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """The simulator, on this machine too, is given the loopback URL it can reach."""
    await hass.config.async_update(external_url="http://127.0.0.1:8123")
    local_gateway_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(local_gateway_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    created = [
        call[2]["target_url"]
        for call in aioclient_mock.mock_calls
        if call[0] == "POST" and str(call[1]) == f"{LOCAL_GATEWAY}/hooks"
    ]
    assert created == [f"http://127.0.0.1:8123{hook_path(local_gateway_entry)}"]
    assert local_gateway_entry.runtime_data.hooks.outcome_reported is True


async def test_removing_the_entry_deletes_its_hook(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """Removing the entry deletes its hook at seven.io."""
    url = f"{EXTERNAL_URL}{hook_path(init_integration)}"
    aioclient_mock.clear_requests()
    aioclient_mock.get(
        HOOKS_URL,
        json={
            "success": True,
            "hooks": [
                hook("7", url),
                hook("9", "https://elsewhere.example.org/hook"),
            ],
        },
    )
    aioclient_mock.delete(HOOKS_URL, json={"success": True})
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    deleted = [c[2]["id"] for c in aioclient_mock.mock_calls if c[0] == "DELETE"]
    assert deleted == ["7"]


@pytest.mark.parametrize(
    ("status", "duration", "answered", "last_call"),
    [
        ("completed", "17", True, "answered"),
        ("completed", "0", False, "not_answered"),
        ("busy", "0", False, "not_answered"),
        ("failed", "0", False, "failed"),
    ],
)
async def test_call_ended(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    hass_client_no_auth: ClientSessionGenerator,
    status: str,
    duration: str,
    answered: bool,
    last_call: str,
) -> None:
    """The event fires once with seven.io's raw status; the sensor shows the outcome."""
    events = async_capture_events(hass, f"{DOMAIN}_call_ended")
    assert hass.states.get(LAST_CALL_ID).state == "calling"
    client = await hass_client_no_auth()

    response = await client.post(
        hook_path(init_integration), json=event(placed, status, duration)
    )

    assert response.status == 200
    await hass.async_block_till_done(wait_background_tasks=True)
    entry_id = init_integration.entry_id
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry_id}_{NUMBER}"), entry_id
    )
    assert device is not None
    assert [e.data for e in events] == [
        {
            "config_entry_id": init_integration.entry_id,
            "call_id": placed,
            "from": NUMBER,
            "to": RECIPIENT,
            # Where the logbook shows the call: the caller ID's device, its Last call.
            "device_id": device.id,
            "entity_id": LAST_CALL_ID,
            "status": status,
            "outcome": last_call,
            "answered": answered,
            "duration": int(duration),
        }
    ]
    assert hass.states.get(LAST_CALL_ID).state == last_call
    # A repeat changes nothing.
    response = await client.post(hook_path(init_integration), json=event(placed))
    assert response.status == 403
    assert len(events) == 1


@pytest.mark.parametrize(
    ("duration", "answered"), [("9", False), ("10", True), ("40.0", True)]
)
async def test_minimum_talk_time(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    hass_client_no_auth: ClientSessionGenerator,
    duration: str,
    answered: bool,
) -> None:
    """A completed call shorter than the option (a voicemail greeting) was not answered."""
    # As the options dialog does: stored, then the entry reloads (the call stays).
    hass.config_entries.async_update_entry(
        init_integration, options={**init_integration.options, "min_talk_time": 10}
    )
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    events = async_capture_events(hass, f"{DOMAIN}_call_ended")
    client = await hass_client_no_auth()

    response = await client.post(
        hook_path(init_integration), json=event(placed, "completed", duration)
    )

    assert response.status == 200
    await hass.async_block_till_done()
    assert [(e.data["answered"], e.data["duration"]) for e in events] == [
        (answered, int(float(duration)))
    ]
    last_call = "answered" if answered else "not_answered"
    assert hass.states.get(LAST_CALL_ID).state == last_call


@pytest.mark.parametrize(
    ("first", "second", "last_call"),
    [
        (("completed", "42"), ("no-answer", "0"), "answered"),
        (("no-answer", "0"), ("completed", "42"), "answered"),
        (("no-answer", "0"), ("failed", "0"), "not_answered"),
        (("failed", "0"), ("failed", "0"), "failed"),
    ],
)
async def test_last_call_of_several_recipients(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    first: tuple[str, str],
    second: tuple[str, str],
    last_call: str,
) -> None:
    """One action to two people: Answered when either answered, whichever ended last."""
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    response = await call(
        hass, caller_id=NUMBER, to=[RECIPIENT, "+4940123456"], message="Alarm"
    )
    ids = [row["call_id"] for row in response["calls"]]
    client = await hass_client_no_auth()

    for call_id, (status, duration) in zip(ids, (first, second), strict=True):
        # Calling while one still rings and none answered yet.
        assert hass.states.get(LAST_CALL_ID).state in ("calling", "answered")
        answer = await client.post(
            hook_path(validated), json=event(call_id, status, duration)
        )
        assert answer.status == 200

    assert hass.states.get(LAST_CALL_ID).state == last_call
    # The same after a restart: the file holds it.
    assert await hass.config_entries.async_reload(validated.entry_id)
    assert hass.states.get(LAST_CALL_ID).state == last_call


async def test_outcome_survives_a_restart(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A call placed before a restart still gets its outcome after it."""
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    client = await hass_client_no_auth()
    response = await client.post(hook_path(init_integration), json=event(placed))
    assert response.status == 200
    assert hass.states.get(LAST_CALL_ID).state == "answered"

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(LAST_CALL_ID).state == "answered"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not json", 400),
        ({"webhook_event": "sms_status", "data": {"id": "1", "status": "x"}}, 400),
        ({"webhook_event": "voice_status", "data": {"status": "completed"}}, 400),
        ("unknown-call", 403),
        ("wrong-foreign-id", 403),
        # str(None) reads like a status word: null is no status.
        ("null-status", 400),
        ("x" * 9000, 400),
    ],
)
async def test_forged_events_change_nothing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    hass_client_no_auth: ClientSessionGenerator,
    body: Any,
    status: int,
) -> None:
    """Anything but an event about a ringing call of this entry is refused, quietly."""
    events = async_capture_events(hass, f"{DOMAIN}_call_ended")
    client = await hass_client_no_auth()
    if body == "unknown-call":
        body = event("999")
    elif body == "wrong-foreign-id":
        body = event(placed)
        body["data"]["foreign_id"] = "0" * 16
    elif body == "null-status":
        body = event(placed)
        body["data"]["status"] = None
    kwargs = {"json": body} if isinstance(body, dict) else {"data": body}
    response = await client.post(hook_path(init_integration), **kwargs)
    assert response.status == status
    assert events == []
    assert hass.states.get(LAST_CALL_ID).state == "calling"
    # The real event still works afterwards.
    assert (
        await client.post(hook_path(init_integration), json=event(placed))
    ).status == 200


async def test_calls_are_forgotten_after_a_day(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An event for a call older than a day is refused."""
    freezer.tick(timedelta(days=1, seconds=1))
    client = await hass_client_no_auth()
    response = await client.post(hook_path(init_integration), json=event(placed))
    assert response.status == 403


async def test_call_ended_trigger(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The trigger "Call ended" fires for the outcome chosen."""
    calls = await set_up_automation(
        hass,
        "call_ended",
        {"outcome": ["not_answered"]},
        {"call_id": "id {{ trigger.call_id }}"},
    )
    client = await hass_client_no_auth()
    await client.post(hook_path(init_integration), json=event(placed, duration="0"))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [call.data["call_id"] for call in calls] == [f"id {placed}"]


async def test_both_triggers_speak_one_vocabulary(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """`trigger.number`, `trigger.outcome` and `trigger.device_id`, as the other trigger."""
    variables = {
        "number": "{{ trigger.number | replace('+', 'plus ') }}",
        "outcome": "{{ trigger.outcome }}",
        "device_id": "{{ trigger.device_id }}",
    }
    calls = await set_up_automation(hass, "call_ended", {}, variables)
    client = await hass_client_no_auth()
    await client.post(hook_path(init_integration), json=event(placed, duration="0"))
    await hass.async_block_till_done(wait_background_tasks=True)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{init_integration.entry_id}_{NUMBER}"), init_integration.entry_id
    )
    assert [call.data for call in calls] == [
        {
            "number": NUMBER.replace("+", "plus "),
            "outcome": "not_answered",
            "device_id": device.id,
        }
    ]


@pytest.mark.parametrize(
    "stored",
    [
        {"calls": [{"call_id": "1"}]},
        {"calls": "nonsense"},
        {"last": {"+4917612345678": "sideways"}},
        {
            "calls": [
                {
                    "call_id": "1",
                    "foreign_id": "a",
                    "sender": NUMBER,
                    "recipient": RECIPIENT,
                    "placed_at": "2026-11-27T12:00:00",
                    "outcome": "calling",
                }
            ]
        },
    ],
)
async def test_damaged_calls_file_is_left_alone(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    hass_storage: dict[str, Any],
    stored: dict[str, Any],
) -> None:
    """A calls file that cannot be read fails setup with the translated error, untouched."""
    key = f"{DOMAIN}.{mock_config_entry.entry_id}.calls"
    hass_storage[key] = {"version": 1, "key": key, "data": stored}
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert mock_config_entry.reason
    assert "cannot be read" in mock_config_entry.reason
    assert hass_storage[key]["data"] == stored


async def test_call_that_cannot_be_saved_still_counts(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The phone rang: the row says so, the failed write is logged, the outcome matches."""
    answer_validation(aioclient_mock, json=ALREADY)
    await call_validate(hass, number=NUMBER)
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    with disk_full():
        response = await call(hass, caller_id=NUMBER, to=RECIPIENT, message="Hello")
    (row,) = response["calls"]
    assert row["success"] is True
    assert "Could not save a placed call" in caplog.text
    client = await hass_client_no_auth()
    response = await client.post(
        hook_path(init_integration), json=event(str(row["call_id"]))
    )
    assert response.status == 200
    assert hass.states.get(LAST_CALL_ID).state == "answered"


async def test_events_while_not_loaded_are_not_acknowledged(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """While the entry is not loaded an event gets 503; other methods 405, quietly."""
    client = await hass_client_no_auth()
    assert (await client.get(hook_path(init_integration))).status == 405
    await hass.config_entries.async_unload(init_integration.entry_id)
    response = await client.post(hook_path(init_integration), json=event(placed))
    assert response.status == 503

    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    response = await client.post(hook_path(init_integration), json=event(placed))
    assert response.status == 200
    assert hass.states.get(LAST_CALL_ID).state == "answered"


async def test_hooks_unreachable_at_setup(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """seven.io out of reach: the entry loads, says so once, reports no outcomes."""
    gateway.clear_requests()
    gateway.get(f"{HOOKS_URL.removesuffix('/hooks')}/balance", json={"amount": 1})
    gateway.get(HOOKS_URL, exc=TimeoutError())
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data.hooks.outcome_reported is False
    assert "Could not set up seven.io's report of ended calls" in caplog.text


async def test_event_that_cannot_be_saved_is_not_acknowledged(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A failed write answers 500 and changes nothing; seven.io's retry then lands."""
    client = await hass_client_no_auth()
    with disk_full():
        response = await client.post(hook_path(init_integration), json=event(placed))
    assert response.status == 500
    assert hass.states.get(LAST_CALL_ID).state == "calling"

    response = await client.post(hook_path(init_integration), json=event(placed))
    assert response.status == 200
    assert hass.states.get(LAST_CALL_ID).state == "answered"


async def test_end_reported_while_the_call_is_being_saved(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A call that ends at once (busy) is matched even before its record is on disk."""
    answer_validation(aioclient_mock, json=ALREADY)
    await call_validate(hass, number=NUMBER)
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    entered, release = asyncio.Event(), asyncio.Event()
    real_write = Store._async_write_data

    async def slow_write(store: Store[Any], data: dict[str, Any]) -> None:
        if data["data"]["calls"] and not entered.is_set():
            entered.set()
            await release.wait()
        await real_write(store, data)

    client = await hass_client_no_auth()
    with patch.object(Store, "_async_write_data", slow_write):
        placing = hass.async_create_task(
            call(hass, caller_id=NUMBER, to=RECIPIENT, message="Hello")
        )
        await entered.wait()
        ending = hass.async_create_task(
            client.post(
                hook_path(init_integration), json=event("900000001", "busy", "0")
            )
        )
        await asyncio.sleep(0.05)
        release.set()
        response = await ending
        await placing
    assert response.status == 200
    assert hass.states.get(LAST_CALL_ID).state == "not_answered"


async def test_hook_follows_a_new_url(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """When Home Assistant's external URL changes, the hook at seven.io is replaced."""
    old_url = f"{EXTERNAL_URL}{hook_path(init_integration)}"
    aioclient_mock.clear_requests()
    aioclient_mock.get(HOOKS_URL, json={"success": True, "hooks": [hook("7", old_url)]})
    aioclient_mock.post(HOOKS_URL, json={"success": True, "id": 8})
    aioclient_mock.delete(HOOKS_URL, json={"success": True})
    await hass.config.async_update(external_url="https://new.example.org")
    await hass.async_block_till_done(wait_background_tasks=True)
    calls = [
        (c[0], c[2])
        for c in aioclient_mock.mock_calls
        if str(c[1].with_query(None)) == HOOKS_URL
    ]
    assert ("DELETE", {"id": "7"}) in calls
    created = [form for method, form in calls if method == "POST"]
    assert [form["target_url"] for form in created] == [
        f"https://new.example.org{hook_path(init_integration)}"
    ]
