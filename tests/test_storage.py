"""The entry's one storage file: what reaches it, when, and what came before it."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.callerid.const import DOMAIN
from custom_components.callerid.helpers import call_webhook_id
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .conftest import (
    ENTITY_ID,
    ENTRY_ID,
    NUMBER,
    RECIPIENT,
    SEVEN_OK,
    STATUS_ID,
    Persisted,
    call,
    disk_full,
    start_validation,
)

# The files version 1.1 of this integration left (tests/fixtures/v1_1/README).
FIXTURES = Path(__file__).parent / "fixtures" / "v1_1"
LAST_CALL_ID = "sensor.49_176_12345678_last_call"


async def test_files_of_version_1_1_migrate_once(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    real_storage: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Snapshot and journal, numbers and calls, merge into one file; nothing is lost."""
    freezer.move_to("2026-12-03T05:45:00+00:00")
    storage = Path(hass.config.path(".storage"))
    storage.mkdir(parents=True, exist_ok=True)
    for path in FIXTURES.glob(f"{DOMAIN}.*"):
        shutil.copy(path, storage / path.name)
    journal = (FIXTURES / f"{DOMAIN}.{ENTRY_ID}.journal").read_text().splitlines()
    expected = {NUMBER: "validated"}
    for line in map(json.loads, journal):
        if "forget" in line:
            expected.pop(line["forget"])
        else:
            expected[line["number"]] = line["status"]
    assert len(expected) == 2  # one number journalled, one forgotten
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={"max_calls_per_hour": 2}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert [path.name for path in storage.glob(f"{DOMAIN}.*")] == [
        f"{DOMAIN}.{ENTRY_ID}"
    ]
    data = json.loads((storage / f"{DOMAIN}.{ENTRY_ID}").read_text())
    assert (data["version"], data["minor_version"]) == (1, 2)
    assert {r["number"]: r["status"] for r in data["data"]["numbers"]} == expected
    assert hass.states.get(ENTITY_ID).state == "on"
    # The later call still rings, and ends when seven.io says so.
    assert hass.states.get(LAST_CALL_ID).state == "calling"
    ringing = json.loads((FIXTURES / "expect.json").read_text())["ringing"]
    client = await hass_client_no_auth()
    response = await client.post(
        f"/api/webhook/{call_webhook_id(mock_config_entry)}",
        json={
            "webhook_event": "voice_status",
            "data": {"id": ringing, "status": "completed", "duration": "7"},
        },
    )
    assert response.status == 200
    assert hass.states.get(LAST_CALL_ID).state == "answered"
    # Both calls of version 1.1 count against the hourly limit.
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, caller_id=NUMBER, to=RECIPIENT, message="Again")
    assert raised.value.translation_key == "call_limit"


async def test_failed_write_changes_nothing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    persisted: Persisted,
) -> None:
    """A callback that cannot be saved answers 500 and changes nothing; the retry lands."""
    path = await start_validation(hass, aioclient_mock)
    client = await hass_client_no_auth()
    stored = persisted.raw()
    with disk_full():
        response = await client.get(path.update_query(SEVEN_OK))
    assert response.status == 500
    assert persisted.raw() == stored
    assert hass.states.get(STATUS_ID).state == "pending"
    response = await client.get(path.update_query(SEVEN_OK))
    assert response.status == 200
    assert persisted.statuses() == {NUMBER: "validated"}
    assert hass.states.get(STATUS_ID).state == "validated"


async def test_validation_that_cannot_be_saved_says_so(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
) -> None:
    """A pending validation that cannot be written fails the action; nothing shows.

    It is written while seven.io is asked; the code is shown all the same.
    """
    with disk_full(), pytest.raises(HomeAssistantError) as raised:
        await start_validation(hass, aioclient_mock)
    assert raised.value.translation_key == "storage_write_failed"
    assert persisted.numbers() == {}
    assert hass.states.get(STATUS_ID) is None


async def test_placed_calls_are_on_disk(
    hass: HomeAssistant,
    placed: str,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
) -> None:
    """A placed call, and the attempt that counts against the limit, are in the file."""
    assert persisted.calls()[placed]["outcome"] == "calling"
    assert len(persisted.data()["attempts"]) == 1
