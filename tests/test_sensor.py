"""Tests of the per-number status and last-completed sensors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from unittest.mock import PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.callerid.sensor import CallerIdStatusSensor
from homeassistant.components.sensor import ATTR_OPTIONS, SensorDeviceClass
from homeassistant.config_entries import RELOAD_AFTER_UPDATE_DELAY
from homeassistant.const import ATTR_DEVICE_CLASS
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from .conftest import (
    ENTITY_ID,
    SEVEN_OK,
    SEVEN_WRONG_CODE,
    STATUS_ID,
    snapshot_entities,
    start_validation,
)

COMPLETED_ID = "sensor.49_176_12345678_last_completed"
LAST_CALL_ID = "sensor.49_176_12345678_last_call"


@pytest.fixture
def enabled_by_default() -> Iterator[None]:
    """Create every entity enabled, as a person who enabled them all sees them."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.mark.usefixtures("enabled_by_default")
async def test_sensors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A status sensor (enum) and a last-completed sensor (timestamp) per number."""
    freezer.move_to("2026-11-27T12:00:00+00:00")
    await start_validation(hass, aioclient_mock)
    await snapshot_entities(
        hass, entity_registry, snapshot, init_integration.entry_id, "sensor"
    )


async def test_status_follows_the_validation(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Pending, failed, pending again, validated: each its own state; the time is kept."""
    freezer.move_to("2026-11-27T12:00:00+00:00")
    client = await hass_client_no_auth()
    path = await start_validation(hass, aioclient_mock)
    status = hass.states.get(STATUS_ID)
    assert status.state == "pending"
    assert status.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENUM
    assert status.attributes[ATTR_OPTIONS] == [
        "pending",
        "validated",
        "failed",
        "expired",
    ]
    assert "error" not in status.attributes
    # Detail: there, but off until a person wants it.
    assert hass.states.get(COMPLETED_ID) is None
    assert entity_registry.async_get(COMPLETED_ID).disabled_by is not None

    assert (await client.get(path.update_query(SEVEN_WRONG_CODE))).status == 200
    status = hass.states.get(STATUS_ID)
    assert status.state == "failed"
    assert status.attributes["error"] == "Wrong code"

    freezer.tick(timedelta(minutes=2))
    path = await start_validation(hass, aioclient_mock)
    assert hass.states.get(STATUS_ID).state == "pending"
    assert "error" not in hass.states.get(STATUS_ID).attributes
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    assert hass.states.get(STATUS_ID).state == "validated"


async def test_last_completed_survives_the_next_validation(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The last completion stays known while the next validation runs."""
    freezer.move_to("2026-11-27T12:00:00+00:00")
    path = await start_validation(hass, aioclient_mock)
    # Enabled in the registry, as a person does: Home Assistant reloads the entry.
    entity_registry.async_update_entity(COMPLETED_ID, disabled_by=None)
    freezer.tick(timedelta(seconds=RELOAD_AFTER_UPDATE_DELAY + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(COMPLETED_ID).state == "unknown"

    freezer.move_to("2026-11-27T12:05:00+00:00")
    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    assert hass.states.get(COMPLETED_ID).state == "2026-11-27T12:05:00+00:00"

    freezer.move_to("2026-11-27T13:00:00+00:00")
    await start_validation(hass, aioclient_mock)
    assert hass.states.get(STATUS_ID).state == "pending"
    assert hass.states.get(COMPLETED_ID).state == "2026-11-27T12:05:00+00:00"

    # It expires: it ended when the code lifetime ran out.
    freezer.tick(timedelta(minutes=15))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(STATUS_ID).state == "expired"
    assert hass.states.get(COMPLETED_ID).state == "2026-11-27T13:15:00+00:00"


async def test_callback_writes_the_two_states_that_change(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Last call is there from the start, unknown until a call; a validation leaves it be."""
    path = await start_validation(hass, aioclient_mock)
    assert hass.states.get(LAST_CALL_ID).state == "unknown"
    written: list[str] = []
    hass.bus.async_listen(
        "state_changed", lambda event: written.append(event.data["entity_id"])
    )
    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    await hass.async_block_till_done()
    assert sorted(written) == [ENTITY_ID, STATUS_ID]
    assert hass.states.get(LAST_CALL_ID).state == "unknown"


def test_changing_attributes_are_not_recorded() -> None:
    """What changes with every validation stays out of the history database."""
    assert {"error", "requested_at"} <= CallerIdStatusSensor._unrecorded_attributes
