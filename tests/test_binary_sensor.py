"""Tests of the per-number binary sensors and the state behind them."""

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
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.callerid import async_remove_config_entry_device
from custom_components.callerid.const import DOMAIN, SERVICE_VALIDATE
from homeassistant.components import persistent_notification
from homeassistant.const import (
    CONF_API_KEY,
    CONF_WEBHOOK_ID,
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component

from .conftest import (
    NUMBER,
    STATUS_ID,
    Persisted,
    answer_validation,
    call_validate,
    snapshot_entities,
    start_validation,
)

SECOND = "+4930123456"
OK = {"sender": "4917612345678", "success": "1", "voice": "1", "id": "7"}


async def test_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
) -> None:
    """One sensor and one device per number, appearing without a reload."""
    freezer.move_to("2026-11-27T12:00:00+00:00")
    assert hass.states.async_entity_ids("binary_sensor") == []
    await start_validation(hass, aioclient_mock, NUMBER)
    aioclient_mock.clear_requests()
    answer_validation(aioclient_mock, json={"success": True, "id": 99, "voice": True})
    await hass.services.async_call(
        DOMAIN,
        SERVICE_VALIDATE,
        {"number": SECOND},
        blocking=True,
        return_response=True,
    )
    await snapshot_entities(
        hass, entity_registry, snapshot, init_integration.entry_id, "binary_sensor"
    )

    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{init_integration.entry_id}_{NUMBER}"), init_integration.entry_id
    )
    assert device is not None
    assert device.name == "+49 176 12345678 (seven.io)"
    # A device of the account's hub, counted as such on the integration's page.
    assert device.entry_type is None
    entity = entity_registry.async_get("binary_sensor.49_176_12345678_caller_id")
    assert entity is not None
    assert entity.unique_id == f"{init_integration.entry_id}_{NUMBER}_validated"
    assert entity.device_id == device.id


async def test_devices_of_earlier_versions_are_no_services(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A number's device that an earlier version made a service becomes a device."""
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{validated.entry_id}_{NUMBER}"), validated.entry_id
    )
    assert device is not None
    device_registry.async_update_device(
        device.id, entry_type=dr.DeviceEntryType.SERVICE
    )
    assert await hass.config_entries.async_reload(validated.entry_id)
    await hass.async_block_till_done()
    updated = device_registry.async_get(device.id)
    assert updated is not None
    assert updated.entry_type is None


async def test_state_survives_restart(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    persisted: Persisted,
) -> None:
    """A callback that arrives after a restart still completes its validation."""
    path = await start_validation(hass, aioclient_mock, NUMBER)
    assert persisted.statuses() == {NUMBER: "pending"}
    # Only a hash of the token is written down.
    assert path.query["token"] not in persisted.raw()

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    state = hass.states.get("binary_sensor.49_176_12345678_caller_id")
    assert state.state == "off"
    assert hass.states.get(STATUS_ID).state == "pending"

    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(OK))).status == 200
    assert hass.states.get("binary_sensor.49_176_12345678_caller_id").state == "on"
    assert persisted.statuses() == {NUMBER: "validated"}


async def test_removing_device_forgets_number(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
    device_registry: dr.DeviceRegistry,
    persisted: Persisted,
) -> None:
    """Deleting a number's device forgets it; its token no longer counts."""
    assert await async_setup_component(hass, "config", {})
    path = await start_validation(hass, aioclient_mock, NUMBER)
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{init_integration.entry_id}_{NUMBER}"), init_integration.entry_id
    )
    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id(
        {
            # What the device page's delete sends since Home Assistant 2026.10.
            "type": "config/device_registry/remove",
            "device_id": device.id,
        }
    )
    assert (await ws.receive_json())["success"]
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.49_176_12345678_caller_id") is None
    assert persisted.numbers() == {}

    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(OK))).status == 403

    # Validating it again brings it back.
    await start_validation(hass, aioclient_mock, NUMBER)
    assert hass.states.get("binary_sensor.49_176_12345678_caller_id").state == "off"


async def test_removing_device_while_unloaded_is_refused(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_ws_client: WebSocketGenerator,
    device_registry: dr.DeviceRegistry,
    persisted: Persisted,
) -> None:
    """A number's device deleted while its account is unloaded: a clear no, kept."""
    assert await async_setup_component(hass, "config", {})
    await start_validation(hass, aioclient_mock, NUMBER)
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{init_integration.entry_id}_{NUMBER}"), init_integration.entry_id
    )
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    ws = await hass_ws_client(hass)
    # What the integration page's device row sends; it offers Delete while unloaded.
    await ws.send_json_auto_id(
        {"type": "config/device_registry/remove", "device_id": device.id}
    )
    answer = await ws.receive_json()
    assert not answer["success"]
    assert answer["error"]["message"].startswith(
        'The seven.io account "seven.io" is not loaded, so the device was not deleted'
    )
    assert device_registry.async_get(device.id) is not None
    assert list(persisted.numbers()) == [NUMBER]

    # Loaded again, the number is there, and deleting its device forgets it.
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.49_176_12345678_caller_id").state == "off"
    await ws.send_json_auto_id(
        {"type": "config/device_registry/remove", "device_id": device.id}
    )
    assert (await ws.receive_json())["success"]
    await hass.async_block_till_done()
    assert persisted.numbers() == {}


async def test_foreign_device_is_left_alone(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    device_registry: dr.DeviceRegistry,
    persisted: Persisted,
) -> None:
    """A device without one of our identifiers forgets nothing."""
    await start_validation(hass, aioclient_mock, NUMBER)
    device = device_registry.async_get_or_create(
        config_entry_id=init_integration.entry_id, identifiers={("other", "x")}
    )
    assert await async_remove_config_entry_device(hass, init_integration, device)
    assert list(persisted.numbers()) == [NUMBER]


async def test_code_expires(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    persisted: Persisted,
    freezer: FrozenDateTimeFactory,
) -> None:
    """After the code lifetime the token is void, the status expired, the notification gone."""
    path = await start_validation(hass, aioclient_mock, NUMBER)
    assert persistent_notification._async_get_or_create_notifications(hass)

    freezer.tick(timedelta(minutes=15))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    state = hass.states.get("binary_sensor.49_176_12345678_caller_id")
    assert state.state == "off"
    assert hass.states.get(STATUS_ID).state == "expired"
    # The code notification now says the code expired and to start again.
    (notification,) = persistent_notification._async_get_or_create_notifications(
        hass
    ).values()
    assert (
        notification["title"]
        == "Caller ID code for +49 176 12345678 (seven.io) expired"
    )
    assert "Start a new validation" in notification["message"]
    assert persisted.numbers()[NUMBER]["status"] == "expired"
    assert persisted.numbers()[NUMBER]["token_hash"] is None

    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(OK))).status == 403
    assert hass.states.get(STATUS_ID).state == "expired"


async def test_expiry_counts_time_while_stopped(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Expiry is computed from stored times: a code that ran out while stopped is void."""
    path = await start_validation(hass, aioclient_mock, NUMBER)
    await hass.config_entries.async_unload(init_integration.entry_id)
    freezer.tick(timedelta(minutes=20))
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(STATUS_ID).state == "expired"
    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(OK))).status == 403


async def test_callback_just_before_expiry_counts(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A lifetime set in the options is honoured; a callback inside it completes."""
    hass.config_entries.async_update_entry(
        init_integration, options={"code_lifetime": 2, "cooldown": 0}
    )
    await hass.config_entries.async_reload(init_integration.entry_id)
    path = await start_validation(hass, aioclient_mock, NUMBER)
    freezer.tick(timedelta(minutes=1, seconds=59))
    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(OK))).status == 200
    assert hass.states.get("binary_sensor.49_176_12345678_caller_id").state == "on"
    # Expiry has nothing left to do.
    freezer.tick(timedelta(minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.49_176_12345678_caller_id").state == "on"


async def test_new_validation_of_a_pending_number_writes_only_its_status(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Nothing the Caller ID sensor shows changes: it is not written again."""
    await start_validation(hass, aioclient_mock)
    written: list[str] = []
    for event_type in (EVENT_STATE_CHANGED, EVENT_STATE_REPORTED):
        hass.bus.async_listen(
            event_type,
            lambda event: written.append(event.data["entity_id"]),
            # Home Assistant wants one for state_reported: every write counts here.
            event_filter=callback(lambda _: True),
        )
    freezer.tick(timedelta(minutes=2))
    await start_validation(hass, aioclient_mock)
    await hass.async_block_till_done()
    assert written == [STATUS_ID]
    assert hass.states.get("binary_sensor.49_176_12345678_caller_id").state == "off"


async def test_same_number_on_two_accounts(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Each account's device and entities name the account; entity ids keep the number."""
    office = MockConfigEntry(
        domain=DOMAIN,
        title="Office",
        unique_id="account-2",
        data={CONF_API_KEY: "other-key-0123456789", CONF_WEBHOOK_ID: "b" * 64},
    )
    office.add_to_hass(hass)
    assert await hass.config_entries.async_setup(office.entry_id)
    for entry in (init_integration, office):
        answer_validation(aioclient_mock, json={"success": True, "code": "123456"})
        await call_validate(hass, number=NUMBER, config_entry_id=entry.entry_id)
    await hass.async_block_till_done()

    names = {}
    for entry in (init_integration, office):
        device = device_registry.async_get_device_by_identifier(
            (DOMAIN, f"{entry.entry_id}_{NUMBER}"), entry.entry_id
        )
        assert device is not None
        names[entry.title] = device.name
        ids = [
            e.entity_id for e in er.async_entries_for_device(entity_registry, device.id)
        ]
        names[entry.title, "ids"] = sorted(ids)
    assert names == {
        "seven.io": "+49 176 12345678 (seven.io)",
        ("seven.io", "ids"): [
            "binary_sensor.49_176_12345678_caller_id",
            "button.49_176_12345678_test_call",
            "button.49_176_12345678_validate_again",
            "select.49_176_12345678_test_call_to",
            "sensor.49_176_12345678_last_call",
            "sensor.49_176_12345678_status",
        ],
        "Office": "+49 176 12345678 (Office)",
        ("Office", "ids"): [
            "binary_sensor.49_176_12345678_caller_id_2",
            "button.49_176_12345678_test_call_2",
            "button.49_176_12345678_validate_again_2",
            "select.49_176_12345678_test_call_to_2",
            "sensor.49_176_12345678_last_call_2",
            "sensor.49_176_12345678_status_2",
        ],
    }
    assert hass.states.get("binary_sensor.49_176_12345678_caller_id_2").name == (
        "+49 176 12345678 (Office) Caller ID"
    )

    # Renamed, the account's devices take the new name when the entry is reloaded.
    hass.config_entries.async_update_entry(office, title="Shop")
    assert await hass.config_entries.async_reload(office.entry_id)
    await hass.async_block_till_done()
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{office.entry_id}_{NUMBER}"), office.entry_id
    )
    assert device is not None
    assert device.name == "+49 176 12345678 (Shop)"
    assert hass.states.get("binary_sensor.49_176_12345678_caller_id_2") is not None
