"""Tests of setting up, unloading and removing an entry."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, patch

import aiohttp
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
from yarl import URL

from custom_components.callerid.const import (
    CONF_CLOUDHOOK_URL,
    DOMAIN,
    ENABLED_ENTITIES,
    SERVICE_VALIDATE,
)
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component

from .conftest import (
    BALANCE_URL,
    HOOKS_URL,
    NUMBER,
    WEBHOOK_ID,
    Persisted,
    answer_validation,
    start_validation,
    validate_calls,
)

CLOUDHOOK = "https://hooks.nabu.casa/abc?existing=1"


@pytest.mark.parametrize(
    "answer",
    [
        {"json": {"amount": 1.0, "currency": "EUR"}},
        {"text": "902"},
        # Gateway out of reach: the webhook must still receive callbacks.
        {"exc": aiohttp.ClientConnectionError()},
        {"status": 503},
    ],
)
async def test_setup_loads(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    answer: dict[str, Any],
) -> None:
    """The entry loads whatever the gateway's state, unless the key is rejected."""
    aioclient_mock.clear_requests()
    aioclient_mock.get(HOOKS_URL, **answer)
    aioclient_mock.get(BALANCE_URL, **answer)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.LOADED

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED


async def test_rejected_key_at_setup_starts_reauth(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """900 at setup (the hook's sync checks the key) asks for a new key.

    The entry stays loaded for callbacks.
    """
    aioclient_mock.clear_requests()
    aioclient_mock.get(HOOKS_URL, text="900")
    aioclient_mock.get(BALANCE_URL, text="900")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_setup_does_not_wait_for_the_gateway(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """The key is checked in the background: a gateway that hangs delays nothing."""
    answer = asyncio.Event()

    async def hang(*_: Any) -> Any:
        await answer.wait()
        return AiohttpClientMockResponse("GET", URL(HOOKS_URL), text="900")

    aioclient_mock.clear_requests()
    aioclient_mock.get(HOOKS_URL, side_effect=hang)
    aioclient_mock.get(BALANCE_URL, side_effect=hang)
    mock_config_entry.add_to_hass(hass)
    async with asyncio.timeout(5):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []

    answer.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert mock_config_entry.state is ConfigEntryState.LOADED


async def test_remove_entry_deletes_storage(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_storage: dict[str, Any],
    persisted: Persisted,
) -> None:
    """Removing the entry removes its stored numbers with its storage file."""
    await start_validation(hass, aioclient_mock)
    assert persisted.numbers()
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert persisted.key not in hass_storage


def _fake_cloud(*, subscribed: bool, error: str | None = None) -> Any:
    """Stand in for Home Assistant Cloud, whose package needs more than the tests install."""

    class CloudNotAvailable(Exception):  # noqa: N818 - the cloud integration's names
        pass

    class CloudNotConnected(Exception):  # noqa: N818
        pass

    create = AsyncMock(return_value=CLOUDHOOK)
    if error is not None:
        create.side_effect = {
            "not available": CloudNotAvailable,
            "not connected": CloudNotConnected,
        }[error]
    return SimpleNamespace(
        CloudNotAvailable=CloudNotAvailable,
        CloudNotConnected=CloudNotConnected,
        async_active_subscription=lambda hass: subscribed,
        async_get_or_create_cloudhook=create,
        async_delete_cloudhook=AsyncMock(side_effect=CloudNotAvailable),
    )


async def test_cloudhook_is_the_callback_with_subscription(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """With Home Assistant Cloud, seven.io gets the cloudhook, its query kept."""
    cloud = _fake_cloud(subscribed=True)
    hass.config.components.add("cloud")
    answer_validation(aioclient_mock, json={"success": True, "code": "123456"})
    with patch.dict("sys.modules", {"homeassistant.components.cloud": cloud}):
        await hass.services.async_call(
            DOMAIN,
            SERVICE_VALIDATE,
            {"number": NUMBER},
            blocking=True,
            return_response=True,
        )
        callback = URL(validate_calls(aioclient_mock)[-1][2]["callback"])
        assert callback.host == "hooks.nabu.casa"
        assert callback.query["existing"] == "1"
        assert len(callback.query["token"]) >= 32
        cloud.async_get_or_create_cloudhook.assert_awaited_once_with(hass, WEBHOOK_ID)
        assert init_integration.data[CONF_CLOUDHOOK_URL] == CLOUDHOOK

        # Removing the entry tries to delete the cloudhook; cloud gone is fine.
        await hass.config_entries.async_remove(init_integration.entry_id)
        cloud.async_delete_cloudhook.assert_awaited_once_with(hass, WEBHOOK_ID)


@pytest.mark.parametrize(
    ("subscribed", "error"),
    [(False, None), (True, "not available"), (True, "not connected")],
)
async def test_cloud_unusable_falls_back_to_webhook_url(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    subscribed: bool,
    error: str | None,
) -> None:
    """Without a subscription, or with Cloud not connected, the external URL is used."""
    cloud = _fake_cloud(subscribed=subscribed, error=error)
    hass.config.components.add("cloud")
    answer_validation(aioclient_mock, json={"success": True, "code": "123456"})
    with patch.dict("sys.modules", {"homeassistant.components.cloud": cloud}):
        await hass.services.async_call(
            DOMAIN,
            SERVICE_VALIDATE,
            {"number": NUMBER},
            blocking=True,
            return_response=True,
        )
    callback = URL(validate_calls(aioclient_mock)[-1][2]["callback"])
    assert callback.host == "home.example.org"
    assert CONF_CLOUDHOOK_URL not in init_integration.data


async def test_cloudhook_failing_without_external_url_raises_repair(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Subscribed, but Cloud not connected and no external URL: the validation says so."""
    cloud = _fake_cloud(subscribed=True, error="not connected")
    hass.config.components.add("cloud")
    answer_validation(aioclient_mock, json={"success": True, "code": "123456"})
    with patch.dict("sys.modules", {"homeassistant.components.cloud": cloud}):
        await hass.config.async_update(external_url=None)
        await hass.async_block_till_done(wait_background_tasks=True)
        # A subscription is a public URL, as long as Cloud connects.
        assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable") is None
        response = await hass.services.async_call(
            DOMAIN,
            SERVICE_VALIDATE,
            {"number": NUMBER},
            blocking=True,
            return_response=True,
        )
    assert response is not None
    assert response["callback_reachable"] is False
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable")


def _stored(*records: dict[str, Any], version: int = 1) -> bytes:
    data = {"numbers": list(records)}
    return json.dumps(
        {"version": version, "minor_version": 1, "key": "x", "data": data}
    ).encode()


_RECORD = {
    "number": "+4917612345678",
    "formatted": "+49 176 12345678",
    "status": "pending",
    "requested_at": "2026-11-27T12:00:00+00:00",
    "completed_at": None,
    "voice": None,
    "caller_id": None,
    "error": None,
    "token_hash": "0" * 64,
}


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"version": 1, "minor_version": 1, "key": "x", "data": {"numbers": [{"number": "+49"}]}}',
        b'{"version": 1, "minor_version": 1, "key": "x", "data": {"numbers": "nope"}}',
        b"[]",
        b"null",
        b'"text"',
        b'{"version": 1, "minor_version": 1, "key": "x", "data": null}',
        _stored(_RECORD, version=2),
        _stored(_RECORD, version=0),
        _stored(_RECORD | {"number": 4917612345678}),
        _stored(
            {k: v for k, v in _RECORD.items() if k != "formatted"}
            | {"number": "+99912345678"}
        ),
        _stored(_RECORD | {"requested_at": "2026-11-27T12:00:00"}),
        _stored(_RECORD | {"requested_at": 5}),
        _stored(_RECORD | {"token_hash": "ä" * 64}),
        _stored(_RECORD | {"token_hash": 7}),
        _stored(_RECORD | {"voice": "yes"}),
        _stored(_RECORD | {"caller_id": True}),
        _stored(_RECORD | {"error": ["x"]}),
        _stored(_RECORD | {"formatted": None}),
        _stored([1, 2]),  # type: ignore[arg-type]
    ],
    ids=[
        "not JSON",
        "record without fields",
        "numbers not a list",
        "a list",
        "null",
        "a string",
        "data null",
        "newer version",
        "older version",
        "number not a string",
        "number of no country",
        "naive time",
        "time not a string",
        "token hash not hex",
        "token hash not a string",
        "voice not a flag",
        "caller id a flag",
        "error not a string",
        "formatted null",
        "record not an object",
    ],
)
async def test_unreadable_storage_fails_setup_and_stays(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    content: bytes,
    real_storage: None,
) -> None:
    """A storage file that cannot be read stops setup and is kept, never replaced.

    One that is not JSON Store moves aside: the copy is named, and the entry does not
    start empty while it is there.
    """
    key = f"{DOMAIN}.{mock_config_entry.entry_id}"
    path = Path(hass.config.path(".storage", key))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    mock_config_entry.add_to_hass(hass)

    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert "cannot be read" in (mock_config_entry.reason or "")
    if not content.startswith(b"{not"):
        assert path.read_bytes() == content
        return
    (copy,) = path.parent.glob(f"{key}.corrupt.*")
    assert copy.read_bytes() == content
    assert str(copy) in (mock_config_entry.reason or "")
    assert not await hass.config_entries.async_reload(mock_config_entry.entry_id)
    assert not path.exists()


@pytest.mark.parametrize("version", [0, 2])
async def test_storage_of_another_version_fails_setup(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    hass_storage: dict[str, Any],
    version: int,
) -> None:
    """A version Store cannot migrate is the translated error too, not a traceback."""
    key = f"{DOMAIN}.{mock_config_entry.entry_id}"
    hass_storage[key] = json.loads(_stored(_RECORD, version=version))
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert "cannot be read" in (mock_config_entry.reason or "")
    assert hass_storage[key]["version"] == version


async def test_no_public_url_is_a_repair_at_setup(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Without an internet-reachable URL the repair shows at setup, before any call.

    It follows the URL configuration both ways while the entry is loaded.
    """
    await hass.config.async_update(external_url=None)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable")
    # Nothing but the hook check (which also checks the key and deletes a hook left
    # over), the balance and what was spent today.
    assert sorted(call[1].path for call in gateway.mock_calls) == [
        "/api/analytics/date",
        "/api/balance",
        "/api/hooks",
    ]

    await hass.config.async_update(external_url="https://home.example.org")
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable") is None

    await hass.config.async_update(external_url=None)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable")

    # Nothing left that needs a callback: nothing to repair.
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable") is None


async def test_public_url_means_no_repair(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """With an external URL nothing is raised."""
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable") is None


@pytest.mark.parametrize(("subscribed", "raised"), [(True, False), (False, True)])
async def test_cloud_subscription_is_a_public_url(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    issue_registry: ir.IssueRegistry,
    subscribed: bool,
    raised: bool,
) -> None:
    """Home Assistant Cloud makes the callback reachable without an external URL."""
    await hass.config.async_update(external_url=None)
    hass.config.components.add("cloud")
    with patch.dict(
        "sys.modules",
        {"homeassistant.components.cloud": _fake_cloud(subscribed=subscribed)},
    ):
        mock_config_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, "callback_unreachable")
    assert (issue is not None) is raised


async def test_url_change_without_loaded_entry_raises_nothing(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    issue_registry: ir.IssueRegistry,
) -> None:
    """With no entry loaded, no URL change raises the repair."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.config.async_update(external_url=None)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, "callback_unreachable") is None


async def test_numbers_past_the_entity_limit_get_none(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    hass_storage: dict[str, Any],
    hass_ws_client: WebSocketGenerator,
    device_registry: dr.DeviceRegistry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Stored numbers past Home Assistant's limit get no entities at all; a repair says so.

    Whole numbers get their entities while there is room (Home Assistant would drop
    entities one by one, leaving numbers with some of theirs); deleting a device makes
    room at the next reload.
    """
    numbers = ["+4917612345671", "+4917612345672", "+4917612345673"]
    records = [
        _RECORD
        | {
            "number": number,
            "formatted": f"+49 176 {number[6:]}",
            "status": "validated",
        }
        | {"token_hash": None, "completed_at": "2026-11-27T12:01:00+00:00"}
        for number in numbers
    ]
    hass_storage[f"{DOMAIN}.{mock_config_entry.entry_id}"] = json.loads(
        _stored(*records)
    )
    assert await async_setup_component(hass, "config", {})
    mock_config_entry.add_to_hass(hass)
    issue_id = f"too_many_numbers_{mock_config_entry.entry_id}"

    def shown() -> list[str]:
        return [
            number
            for number in numbers
            if hass.states.get(
                f"binary_sensor.{number[1:3]}_{number[3:6]}_{number[6:]}_caller_id"
            )
        ]

    # Room for two numbers' enabled entities, and the account's two.
    limit = 2 * len(ENABLED_ENTITIES) + 2
    with patch(
        "homeassistant.helpers.entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY",
        limit,
    ):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        assert shown() == numbers[:2]
        for number in numbers[:2]:
            suffix = f"{number[1:3]}_{number[3:6]}_{number[6:]}"
            assert hass.states.get(f"sensor.{suffix}_status").state == "validated"
            assert hass.states.get(f"sensor.{suffix}_last_call") is not None
        issue = issue_registry.async_get_issue(DOMAIN, issue_id)
        assert issue is not None
        assert issue.translation_placeholders == {
            "title": mock_config_entry.title,
            "count": "1",
            "limit": str(limit),
        }
        # Still known: its record is kept and a restart keeps the same numbers shown.
        assert mock_config_entry.runtime_data.numbers.get(numbers[2]) is not None
        assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
        assert shown() == numbers[:2]

        device = device_registry.async_get_device_by_identifier(
            (DOMAIN, f"{mock_config_entry.entry_id}_{numbers[0]}"),
            mock_config_entry.entry_id,
        )
        ws = await hass_ws_client(hass)
        await ws.send_json_auto_id(
            {"type": "config/device_registry/remove", "device_id": device.id}
        )
        assert (await ws.receive_json())["success"]
        assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        assert shown() == numbers[1:]
        assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


def _store_validated(
    hass_storage: dict[str, Any], entry: MockConfigEntry, numbers: list[str]
) -> None:
    """Leave the entry's file with these numbers validated, as a restart reads it."""
    records = [
        _RECORD
        | {"number": number, "formatted": f"+49 176 {number[6:]}"}
        | {"status": "validated", "token_hash": None}
        | {"completed_at": "2026-11-27T12:01:00+00:00"}
        for number in numbers
    ]
    hass_storage[f"{DOMAIN}.{entry.entry_id}"] = json.loads(_stored(*records))


async def test_the_account_and_its_recipients_keep_their_room(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    hass_storage: dict[str, Any],
) -> None:
    """Room is kept for the account's sensors and a recipient's two entities first.

    Numbers that would take it are not shown: Home Assistant would drop whichever
    entity came last, one of a number's or the Balance sensor.
    """
    numbers = ["+4917612345671", "+4917612345672"]
    _store_validated(hass_storage, mock_config_entry, numbers)
    recipient = {"number": "+4930123456", "caller_id": numbers[0]}
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=mock_config_entry.title,
        unique_id=mock_config_entry.unique_id,
        data=dict(mock_config_entry.data),
        entry_id=mock_config_entry.entry_id,
        subentries_data=[
            {
                "data": recipient,
                "subentry_type": "recipient",
                "title": "Alice",
                "unique_id": recipient["number"],
            }
        ],
    )
    entry.add_to_hass(hass)
    # Two numbers', the account's two and Alice's two would be one more.
    with patch(
        "homeassistant.helpers.entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY",
        2 * len(ENABLED_ENTITIES) + 3,
    ):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    for entity_id in (
        "sensor.seven_io_balance",
        "sensor.seven_io_spent_today",
        "notify.alice",
        "event.alice_call",
        "binary_sensor.49_176_12345671_caller_id",
    ):
        assert hass.states.get(entity_id) is not None, entity_id
    assert hass.states.get("binary_sensor.49_176_12345672_caller_id") is None
    assert hass.states.get("sensor.49_176_12345672_status") is None


async def test_a_recipient_past_the_limit_hides_no_registered_number(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    hass_storage: dict[str, Any],
) -> None:
    """Hiding a number whose entities are registered frees no room: it stays shown."""
    numbers = ["+4917612345671", "+4917612345672"]
    _store_validated(hass_storage, mock_config_entry, numbers)
    mock_config_entry.add_to_hass(hass)
    with patch(
        "homeassistant.helpers.entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY",
        2 * len(ENABLED_ENTITIES) + 3,
    ):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        hass.config_entries.async_add_subentry(
            mock_config_entry,
            ConfigSubentry(
                data=MappingProxyType({"number": "+4930123456", "caller_id": NUMBER}),
                subentry_type="recipient",
                title="Alice",
                unique_id="+4930123456",
            ),
        )
        await hass.async_block_till_done()
    for number in numbers:
        state = hass.states.get(f"binary_sensor.49_176_{number[6:]}_caller_id")
        assert state is not None
        assert state.state == "on", number


async def test_partly_registered_numbers_count_what_they_still_need(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    hass_storage: dict[str, Any],
    entity_registry: er.EntityRegistry,
) -> None:
    """A number with some entities registered (an earlier release) needs room for the rest.

    Numbers never validated had no Last call sensor before: each needs one more enabled
    entity now, and a number that cannot have it gets none rather than some.
    """
    numbers = ["+4917612345671", "+4917612345672", "+4917612345673"]
    entry_id = mock_config_entry.entry_id
    hass_storage[f"{DOMAIN}.{entry_id}"] = json.loads(
        _stored(
            *(
                _RECORD
                | {"number": number, "formatted": f"+49 176 {number[6:]}"}
                | {"status": "failed", "token_hash": None}
                for number in numbers
            )
        )
    )
    mock_config_entry.add_to_hass(hass)
    for number in numbers[:2]:
        for domain, key, disabled_by in (
            ("binary_sensor", "validated", None),
            ("sensor", "status", None),
            ("sensor", "completed", er.RegistryEntryDisabler.INTEGRATION),
        ):
            entity_registry.async_get_or_create(
                domain,
                DOMAIN,
                f"{entry_id}_{number}_{key}",
                config_entry=mock_config_entry,
                disabled_by=disabled_by,
            )
    # 4 enabled; room for the account's 2 sensors and the two numbers' other entities
    # (Last call, and what later versions added), not for all of the third's.
    with patch(
        "homeassistant.helpers.entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY",
        2 * len(ENABLED_ENTITIES) + 2,
    ):
        assert await hass.config_entries.async_setup(entry_id)
        await hass.async_block_till_done()
    shown = {
        number: {
            key
            for domain, key in ENABLED_ENTITIES
            if entity_registry.async_get_entity_id(
                domain, DOMAIN, f"{entry_id}_{number}_{key}"
            )
        }
        for number in numbers
    }
    every = {key for _, key in ENABLED_ENTITIES}
    assert shown == {numbers[0]: every, numbers[1]: every, numbers[2]: set()}
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"too_many_numbers_{entry_id}")
    assert issue is not None
    assert issue.translation_placeholders["count"] == "1"
