"""Calls as the real seven.io reports them: status updates, odd durations, retries.

Each test is one of the defects found against seven.io's documentation and SDKs; they
go through Home Assistant's public surfaces only (actions, webhooks, states).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from datetime import timedelta
import itertools
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.callerid.const import DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .conftest import (
    BALANCE_URL,
    EXTERNAL_URL,
    HOOKS_URL,
    NUMBER,
    RECIPIENT,
    VOICE_URL,
    call,
    voice_answer,
    voice_calls,
)
from .test_call_status import event, hook, hook_path

LAST_CALL_ID = "sensor.49_176_12345678_last_call"
OTHER = "+4940123456"
ENDED = f"{DOMAIN}_call_ended"


class HookGateway:
    """seven.io's /hooks as a stateful account: hooks listed are those created."""

    def __init__(self, aioclient_mock: AiohttpClientMocker, delay: float = 0) -> None:
        """Replace the fixed hook answers; the key check answers as usual."""
        self.hooks: dict[str, str] = {}
        self.failures = 0
        self._ids = itertools.count(42)
        self._delay = delay
        aioclient_mock.clear_requests()
        aioclient_mock.get(BALANCE_URL, json={"amount": 12.34, "currency": "EUR"})
        for method in ("get", "post", "delete"):
            getattr(aioclient_mock, method)(HOOKS_URL, side_effect=self._answer)

    async def _answer(
        self, method: str, url: URL, data: Any
    ) -> AiohttpClientMockResponse:
        await asyncio.sleep(self._delay)
        if self.failures:
            self.failures -= 1
            return AiohttpClientMockResponse(method, url, exc=TimeoutError())
        if method == "GET":
            hooks = [hook(hook_id, target) for hook_id, target in self.hooks.items()]
            return AiohttpClientMockResponse(
                method, url, json={"success": True, "hooks": hooks}
            )
        if method == "POST":
            hook_id = str(next(self._ids))
            self.hooks[hook_id] = data["target_url"]
            return AiohttpClientMockResponse(
                method, url, json={"success": True, "id": int(hook_id)}
            )
        # Whichever way the id comes: form body (OpenAPI) or query (PHP SDK).
        hook_id = (data or {}).get("id") or url.query.get("id")
        found = self.hooks.pop(str(hook_id), None) is not None
        return AiohttpClientMockResponse(method, url, json={"success": found})


async def test_status_updates_come_before_the_end(
    hass: HomeAssistant,
    placed: str,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """initiated, ringing and in-progress are acknowledged and end nothing; completed does."""
    ended = async_capture_events(hass, ENDED)
    client = await hass_client_no_auth()
    path = hook_path(init_integration)
    for update in ("initiated", "ringing", "in-progress"):
        response = await client.post(path, json=event(placed, update, ""))
        assert response.status == 200, update
        assert hass.states.get(LAST_CALL_ID).state not in (
            "answered",
            "not_answered",
            "failed",
        )
    assert ended == []

    response = await client.post(path, json=event(placed, "completed", "42"))
    assert response.status == 200
    assert hass.states.get(LAST_CALL_ID).state == "answered"
    assert [e.data["duration"] for e in ended] == [42]


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [("", 0), (None, 0), ("17.0", 17), (17, 17), (17.0, 17), ("17", 17)],
)
async def test_duration_in_any_form_is_seconds(
    hass: HomeAssistant,
    placed: str,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    duration: Any,
    seconds: int,
) -> None:
    """Empty, null, a number or a decimal string: read as seconds, never refused."""
    ended = async_capture_events(hass, ENDED)
    client = await hass_client_no_auth()
    response = await client.post(
        hook_path(init_integration), json=event(placed, "completed", duration)
    )
    assert response.status == 200
    assert [e.data["duration"] for e in ended] == [seconds]


async def test_status_body_in_chunks_is_read_whole(
    hass: HomeAssistant,
    placed: str,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A body that arrives in several chunks is judged by all of them."""
    body = b'{"webhook_event": "voice_status", "data": {"id": "%s", ' % placed.encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield body
        await asyncio.sleep(0.05)
        yield b'"status": "completed", "duration": "9"}}'

    client = await hass_client_no_auth()
    response = await client.post(
        hook_path(init_integration),
        data=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 200
    assert hass.states.get(LAST_CALL_ID).state == "answered"


async def test_status_while_the_entry_unloads_is_503(
    hass: HomeAssistant,
    placed: str,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The entry unloads while an event arrives: 503 so that seven.io retries; then 200."""
    first_sent, go_on = asyncio.Event(), asyncio.Event()
    path = hook_path(init_integration)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"webhook_event": "voice_status", '
        first_sent.set()
        await go_on.wait()
        yield b'"data": {"id": "%s", "status": "completed", "duration": "9"}}' % (
            placed.encode()
        )

    client = await hass_client_no_auth()
    posting = hass.async_create_task(
        client.post(path, data=chunks(), headers={"Content-Type": "application/json"})
    )
    await first_sent.wait()
    # The handler is reading the body by now.
    await asyncio.sleep(0.1)
    await hass.config_entries.async_unload(init_integration.entry_id)
    go_on.set()
    assert (await posting).status == 503

    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    response = await client.post(path, json=event(placed, "completed", "9"))
    assert response.status == 200


async def test_reload_during_a_call_action_gives_back_nothing(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """A reload while an action places calls cannot make room for more than the limit."""
    hass.config_entries.async_update_entry(validated, options={"max_calls_per_hour": 2})
    await hass.async_block_till_done()
    asked, release = asyncio.Event(), asyncio.Event()
    answer = voice_answer()

    async def slow(method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        asked.set()
        await release.wait()
        return await answer(method, url, data)

    aioclient_mock.post(VOICE_URL, side_effect=slow)
    action = hass.async_create_task(
        call(hass, caller_id=NUMBER, to=[RECIPIENT, OTHER], message="Alarm")
    )
    await asked.wait()
    reloading = hass.async_create_task(
        hass.config_entries.async_reload(validated.entry_id)
    )
    await asyncio.sleep(0.05)
    release.set()
    await reloading
    await action
    await hass.async_block_till_done()
    assert validated.state is ConfigEntryState.LOADED
    for _ in range(3):
        with pytest.raises(ServiceValidationError) as raised:
            await call(hass, caller_id=NUMBER, to=RECIPIENT, message="Again")
        assert raised.value.translation_key == "call_limit"
    assert len(voice_calls(aioclient_mock)) == 2


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("timeout", id="answer timed out"),
        pytest.param("unreadable", id="answer unreadable"),
        pytest.param("repeated_id", id="same call id twice"),
        pytest.param("two_rows", id="two rows for one recipient"),
    ],
)
async def test_every_request_that_may_have_rung_counts(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    answer: str,
) -> None:
    """The hourly limit counts each call seven.io may have placed, however it answered."""
    hass.config_entries.async_update_entry(validated, options={"max_calls_per_hour": 2})
    await hass.async_block_till_done()

    async def odd(method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        row = {
            "id": "900000001",
            "sender": data["from"],
            "recipient": data["to"].removeprefix("+"),
            "text": data["text"],
            "price": 0.045,
            "success": True,
            "error": None,
            "error_text": None,
        }
        if answer == "timeout":
            return AiohttpClientMockResponse(method, url, exc=TimeoutError())
        if answer == "unreadable":
            return AiohttpClientMockResponse(method, url, text='{"success": "10')
        rows = [row, row | {"id": "900000002"}] if answer == "two_rows" else [row]
        return AiohttpClientMockResponse(
            method,
            url,
            json={
                "success": "100",
                "total_price": 0.045 * len(rows),
                "balance": 12.3,
                "debug": False,
                "messages": rows,
            },
        )

    aioclient_mock.post(VOICE_URL, side_effect=odd)
    calls_needed = 1 if answer == "two_rows" else 2
    for _ in range(calls_needed):
        # The gateway's failure is this test's input; had the limit refused the call,
        # the gateway would see fewer requests (checked below).
        with contextlib.suppress(HomeAssistantError):
            await call(hass, caller_id=NUMBER, to=RECIPIENT, message="Alarm")
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, caller_id=NUMBER, to=RECIPIENT, message="One more")
    assert raised.value.translation_key == "call_limit"
    assert len(voice_calls(aioclient_mock)) == calls_needed


async def test_entry_removed_during_a_call_action(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """Removing the entry while it places a call: the action ends cleanly, as placed."""
    asked, release = asyncio.Event(), asyncio.Event()
    answer = voice_answer()

    async def slow(method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        asked.set()
        await release.wait()
        return await answer(method, url, data)

    aioclient_mock.post(VOICE_URL, side_effect=slow)
    aioclient_mock.delete(HOOKS_URL, json={"success": True})
    action = hass.async_create_task(
        call(hass, caller_id=NUMBER, to=RECIPIENT, message="Alarm")
    )
    await asked.wait()
    removing = hass.async_create_task(
        hass.config_entries.async_remove(validated.entry_id)
    )
    await asyncio.sleep(0.05)
    release.set()
    response = await action
    await removing
    assert [row["success"] for row in response["calls"]] == [True]


async def test_two_syncs_at_once_make_one_hook(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """A URL change while the setup's hook check runs: still exactly one hook."""
    account = HookGateway(aioclient_mock, delay=0.05)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.config.async_update(external_url=EXTERNAL_URL)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(account.hooks) == 1


@pytest.mark.parametrize("external_url", [None, "http://homeassistant.local:8123"])
async def test_hook_goes_when_no_public_url_remains(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    external_url: str | None,
) -> None:
    """Clearing the external URL, or a LAN one, deletes the hook: seven.io posts nowhere old."""
    account = HookGateway(aioclient_mock)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(account.hooks) == 1
    await hass.config.async_update(external_url=external_url)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert account.hooks == {}


async def test_no_orphan_hook_when_the_first_start_was_not_saved(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """A crash before the entry's first changes reached the disk leaves one hook, ours."""
    account = HookGateway(aioclient_mock)
    as_created = dict(mock_config_entry.data)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(account.hooks) == 1
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    # What the disk held when the process died: the entry as the flow created it.
    hass.config_entries.async_update_entry(mock_config_entry, data=as_created)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(account.hooks) == 1
    (target,) = account.hooks.values()
    assert target == f"{EXTERNAL_URL}{hook_path(mock_config_entry)}"


async def test_failed_hook_sync_is_retried_and_repaired(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """seven.io out of reach at setup: retried with backoff, a repair while it fails."""
    account = HookGateway(aioclient_mock)
    account.failures = 100
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    issues = ir.async_get(hass)
    now = dt_util.utcnow()
    for hours in range(1, 6):
        async_fire_time_changed(hass, now + timedelta(hours=hours))
        await hass.async_block_till_done(wait_background_tasks=True)
    assert account.hooks == {}
    assert [issue for (domain, issue) in issues.issues if domain == DOMAIN] == [
        f"hook_sync_failed_{mock_config_entry.entry_id}"
    ]

    account.failures = 0
    async_fire_time_changed(hass, now + timedelta(hours=8))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(account.hooks) == 1
    assert not [domain for (domain, _) in issues.issues if domain == DOMAIN]
