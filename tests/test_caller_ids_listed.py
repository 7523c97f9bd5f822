"""Each caller ID under its account: a subentry per number, its device and entities."""

from __future__ import annotations

from pathlib import Path
import shutil
from typing import Any
from unittest.mock import patch

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.callerid import select
from custom_components.callerid.const import (
    DOMAIN,
    ENABLED_ENTITIES,
    SUBENTRY_CALLER_ID,
)
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component

from .conftest import (
    ENTITY_ID,
    ENTRY_ID,
    NUMBER,
    SEVEN_OK,
    Persisted,
    disk_full,
    start_validation,
)
from .test_init import _store_validated
from .test_recipients import _add

FIXTURES = Path(__file__).parent / "fixtures" / "v1_1"


def _listed(entry: MockConfigEntry) -> dict[str, ConfigSubentry]:
    """Return the entry's caller ID subentries by number."""
    return {
        subentry.data["number"]: subentry
        for subentry in entry.get_subentries_of_type(SUBENTRY_CALLER_ID)
    }


def _device(hass: HomeAssistant, number: str) -> dr.DeviceEntry | None:
    return dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{ENTRY_ID}_{number}"), ENTRY_ID
    )


async def test_a_validated_number_is_listed_with_its_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    entity_registry: er.EntityRegistry,
) -> None:
    """`callerid.validate` lists the number; its device and entities are under it."""
    path = await start_validation(hass, aioclient_mock)
    subentry = _listed(init_integration)[NUMBER]
    assert subentry.title == "+49 176 12345678"
    device = _device(hass, NUMBER)
    assert device is not None
    assert device.config_subentry_id == subentry.subentry_id
    entities = er.async_entries_for_device(entity_registry, device.id)
    assert entities
    assert {entity.config_subentry_id for entity in entities} == {subentry.subentry_id}

    # The callback changes the number, not the list; nothing reloads.
    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    await hass.async_block_till_done()
    assert hass.states.get(ENTITY_ID).state == "on"
    assert list(_listed(init_integration)) == [NUMBER]
    assert init_integration.state is ConfigEntryState.LOADED


async def test_deleting_the_caller_id_forgets_the_number(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
    persisted: Persisted,
) -> None:
    """Its menu's delete does what the device's delete does: the number is forgotten."""
    assert await async_setup_component(hass, "config", {})
    path = await start_validation(hass, aioclient_mock)
    subentry = _listed(init_integration)[NUMBER]
    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id(
        {  # what the integration page's menu sends
            "type": "config_entries/subentries/delete",
            "entry_id": init_integration.entry_id,
            "subentry_id": subentry.subentry_id,
        }
    )
    assert (await ws.receive_json())["success"]
    await hass.async_block_till_done()
    assert persisted.numbers() == {}
    assert hass.states.get(ENTITY_ID) is None
    assert _device(hass, NUMBER) is None
    assert init_integration.state is ConfigEntryState.LOADED
    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(SEVEN_OK))).status == 403

    # Validated again, it is listed again.
    await start_validation(hass, aioclient_mock)
    assert list(_listed(init_integration)) == [NUMBER]
    assert hass.states.get(ENTITY_ID).state == "off"


async def test_deleting_the_device_removes_the_caller_id(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_ws_client: WebSocketGenerator,
    persisted: Persisted,
) -> None:
    """The device page's delete forgets the number, and its row leaves the list."""
    assert await async_setup_component(hass, "config", {})
    await start_validation(hass, aioclient_mock)
    device = _device(hass, NUMBER)
    assert device is not None
    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id(
        {"type": "config/device_registry/remove", "device_id": device.id}
    )
    assert (await ws.receive_json())["success"]
    await hass.async_block_till_done()
    assert persisted.numbers() == {}
    assert _listed(init_integration) == {}


async def test_the_file_decides_what_is_listed(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
) -> None:
    """At setup a stored number gets its row back, and a row without a number goes."""
    await start_validation(hass, aioclient_mock)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    # Unloaded: deleting the row is not seen, and nothing is forgotten.
    listed = _listed(init_integration)[NUMBER]
    hass.config_entries.async_remove_subentry(init_integration, listed.subentry_id)
    stray = ConfigSubentry(
        data={"number": "+4917699999999"},
        subentry_type=SUBENTRY_CALLER_ID,
        title="+49 176 99999999",
        unique_id="caller_id +4917699999999",
    )
    hass.config_entries.async_add_subentry(init_integration, stray)
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    assert list(_listed(init_integration)) == [NUMBER]
    assert list(persisted.numbers()) == [NUMBER]
    assert hass.states.get(ENTITY_ID).state == "off"


@pytest.mark.usefixtures("real_storage")
async def test_numbers_of_version_1_1_are_listed(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Numbers and devices of an earlier version move under their rows, by themselves."""
    storage = Path(hass.config.path(".storage"))
    storage.mkdir(parents=True, exist_ok=True)
    for path in FIXTURES.glob(f"{DOMAIN}.*"):
        shutil.copy(path, storage / path.name)
    mock_config_entry.add_to_hass(hass)
    # As version 1.1 registered a number: a device and entities of the entry alone.
    device = device_registry.async_get_or_create(
        config_entry_id=ENTRY_ID, identifiers={(DOMAIN, f"{ENTRY_ID}_{NUMBER}")}
    )
    entity = entity_registry.async_get_or_create(
        "binary_sensor",
        DOMAIN,
        f"{ENTRY_ID}_{NUMBER}_validated",
        config_entry=mock_config_entry,
        device_id=device.id,
        suggested_object_id="49_176_12345678_caller_id",
    )
    assert await hass.config_entries.async_setup(ENTRY_ID)
    await hass.async_block_till_done()

    listed = _listed(mock_config_entry)
    assert len(listed) == 2  # the two numbers the files keep
    subentry_id = listed[NUMBER].subentry_id
    moved = device_registry.async_get(device.id)
    assert moved is not None
    assert moved.config_subentry_id == subentry_id
    assert entity_registry.async_get(entity.entity_id).config_subentry_id == subentry_id
    assert hass.states.get(entity.entity_id).state == "on"
    assert "silently moves the device" not in caplog.text


OTHER = "+4917699999999"


async def _delete_row(hass: HomeAssistant, entry: MockConfigEntry, number: str) -> None:
    hass.config_entries.async_remove_subentry(entry, _listed(entry)[number].subentry_id)


async def test_a_row_deleted_on_a_full_disk_comes_back(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The number could not be forgotten: it is listed again, with its entities."""
    await start_validation(hass, aioclient_mock)
    with disk_full():
        await _delete_row(hass, init_integration, NUMBER)
        await hass.async_block_till_done()
    assert "Task exception was never retrieved" not in caplog.text
    assert "Could not forget" in caplog.text
    assert list(persisted.numbers()) == [NUMBER]
    assert list(_listed(init_integration)) == [NUMBER]
    assert hass.states.get(ENTITY_ID).state == "off"


@pytest.mark.usefixtures("real_storage")
async def test_two_rows_deleted_then_a_reload(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
) -> None:
    """Both numbers are forgotten before the reload unloads the entry."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(ENTRY_ID)
    await hass.async_block_till_done()
    for number, code in ((NUMBER, "123456"), (OTHER, "654321")):
        await start_validation(hass, gateway, number, code)
    await _delete_row(hass, mock_config_entry, NUMBER)
    await _delete_row(hass, mock_config_entry, OTHER)
    assert await hass.config_entries.async_reload(ENTRY_ID)
    await hass.async_block_till_done()
    assert _listed(mock_config_entry) == {}
    assert mock_config_entry.runtime_data.numbers == {}


async def test_a_row_deleted_while_the_platforms_set_up(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The number is forgotten once the entry is set up; no platform fails."""
    await start_validation(hass, aioclient_mock)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    original = select.async_setup_entry

    async def deleting_first(*args: Any) -> None:
        await _delete_row(hass, init_integration, NUMBER)
        await original(*args)

    with patch.object(select, "async_setup_entry", deleting_first):
        assert await hass.config_entries.async_setup(init_integration.entry_id)
        await hass.async_block_till_done()
    assert "Error while setting up" not in caplog.text
    assert persisted.numbers() == {}
    assert _listed(init_integration) == {}


async def test_entities_of_numbers_past_the_limit_stay_registered(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    hass_storage: dict[str, Any],
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """An update that leaves no room for a number's new entities deletes none of its old.

    Version 1.1 registered three per number; a number the limit now hides keeps them
    (its entity ids, names, history), moved with its device under its row.
    """
    numbers = [NUMBER, OTHER]
    _store_validated(hass_storage, mock_config_entry, numbers)
    mock_config_entry.add_to_hass(hass)
    old = {}
    for number in numbers:
        device = device_registry.async_get_or_create(
            config_entry_id=ENTRY_ID, identifiers={(DOMAIN, f"{ENTRY_ID}_{number}")}
        )
        old[number] = [
            entity_registry.async_get_or_create(
                domain,
                DOMAIN,
                f"{ENTRY_ID}_{number}_{key}",
                config_entry=mock_config_entry,
                device_id=device.id,
            ).entity_id
            for domain, key in ENABLED_ENTITIES[:3]
        ]
    # The account's two, both numbers' old three and room for one number's new ones.
    with patch(
        "homeassistant.helpers.entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY",
        2 + 2 * 3 + len(ENABLED_ENTITIES) - 3,
    ):
        assert await hass.config_entries.async_setup(ENTRY_ID)
        await hass.async_block_till_done()
    assert mock_config_entry.runtime_data.hidden == {OTHER}
    row = _listed(mock_config_entry)[OTHER].subentry_id
    for entity_id in old[OTHER]:
        entity = entity_registry.async_get(entity_id)
        assert entity is not None, entity_id
        assert entity.config_subentry_id == row
    assert hass.states.get(old[NUMBER][0]).state == "on"


async def test_a_caller_id_that_is_also_a_recipient(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """One's own number, validated and called as a recipient: a row each, both ways."""
    result = await _add(
        hass, validated, name="Me", number="0176 12345678", caller_id=NUMBER
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert await hass.config_entries.async_reload(validated.entry_id)
    await hass.async_block_till_done()
    assert validated.state is ConfigEntryState.LOADED
    assert list(_listed(validated)) == [NUMBER]
    # And the other way: a recipient's number validated afterwards.
    await _add(hass, validated, name="Bob", number="0176 99999999", caller_id=NUMBER)
    await start_validation(hass, aioclient_mock, OTHER, "654321")
    assert list(_listed(validated)) == [NUMBER, OTHER]
