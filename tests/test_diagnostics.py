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

from custom_components.callerid.const import CONF_BASE_URL, CONF_CODE_LIFETIME
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from .conftest import API_KEY, NUMBER, SEVEN_OK, WEBHOOK_ID, start_validation


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
    await hass.async_block_till_done()  # a change of the options reloads the entry
    token = (await start_validation(hass, aioclient_mock)).query["token"]

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )

    assert diagnostics == snapshot(exclude=props("requested_at"))
    text = repr(diagnostics)
    # People paste diagnostics into public issues: numbers are masked as in the logs.
    for secret in (API_KEY, WEBHOOK_ID, token, NUMBER, "176 12345678"):
        assert secret not in text


async def test_diagnostics_redact_the_gateway_url_and_numbers_in_errors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Credentials in the gateway URL, and numbers in seven.io's error texts, are gone."""
    # Before the first client freezes the HTTP routes.
    assert await async_setup_component(hass, "diagnostics", {})
    hass.config_entries.async_update_entry(
        init_integration,
        data={
            **init_integration.data,
            CONF_BASE_URL: "https://user:hunter2@gateway.example.org/api?key=s3cret",
        },
    )
    pending = await start_validation(hass, aioclient_mock)
    client = await hass_client_no_auth()
    error = "Number 4917612345678 (0176 1234 5678) is blocked"
    response = await client.get(
        pending.update_query(SEVEN_OK | {"success": "0", "error": error})
    )
    assert response.status == 200

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )

    text = repr(diagnostics)
    for secret in ("hunter2", "user:", "s3cret", "4917612345678", "1234 5678"):
        assert secret not in text
    (record,) = diagnostics["numbers"]
    assert record["error"].startswith("Number ")
