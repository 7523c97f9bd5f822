"""Tests of the diagnostics: useful, and free of secrets."""

from __future__ import annotations

from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.callerid.const import CONF_CODE_LIFETIME
from homeassistant.core import HomeAssistant

from .conftest import (
    API_KEY,
    NUMBER,
    WEBHOOK_ID,
    start_validation,
)


async def test_diagnostics(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    """Options and numbers' state are there; key, webhook id, token and full numbers not."""
    hass.config_entries.async_update_entry(
        init_integration, options={CONF_CODE_LIFETIME: 5}
    )
    token = (await start_validation(hass, aioclient_mock)).query["token"]

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )

    assert diagnostics == snapshot(exclude=props("requested_at"))
    text = repr(diagnostics)
    # People paste diagnostics into public issues: numbers are masked as in the logs.
    for secret in (API_KEY, WEBHOOK_ID, token, NUMBER, "176 12345678"):
        assert secret not in text
