"""Tests of the notification a validation shows: its code, then how it ended."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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

from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant

from .conftest import SEVEN_OK, SEVEN_WRONG_CODE, start_validation

NOTIFICATION_ID = "callerid_01JCALLERIDENTRY000000000_+4917612345678"


def notification(hass: HomeAssistant) -> dict[str, Any] | None:
    """Return the notification of NUMBER, if there is one."""
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    return notifications.get(NOTIFICATION_ID)


@pytest.mark.parametrize(
    ("callback", "title", "says"),
    [
        (
            {"success": "0", "voice": "0", "error": "Wrong code"},
            "Caller ID validation of +49 176 12345678 (seven.io) failed",
            [
                "did not validate **+49 176 12345678 (seven.io)**: Wrong code",
                "Start a new",
            ],
        ),
        (
            {"success": "0", "voice": "0", "error": ""},
            "Caller ID validation of +49 176 12345678 (seven.io) failed",
            ["did not validate **+49 176 12345678 (seven.io)**.", "Start a new"],
        ),
    ],
)
async def test_failure_replaces_the_code(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    callback: dict[str, str],
    title: str,
    says: list[str],
) -> None:
    """A failed validation replaces the code with why, in seven.io's words if any."""
    path = await start_validation(hass, aioclient_mock, code="424242")
    assert "424242" in notification(hass)["message"]

    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(SEVEN_OK | callback))).status == 200
    await hass.async_block_till_done()

    shown = notification(hass)
    assert shown["title"] == title
    for text in says:
        assert text in shown["message"]
    assert "424242" not in shown["message"]


async def test_validated_dismisses_the_code(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Validated needs no words: the code goes, the sensor tells."""
    path = await start_validation(hass, aioclient_mock)
    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    await hass.async_block_till_done()
    assert notification(hass) is None


async def test_expiry_says_to_start_again(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An expired code is replaced by a notification that says so."""
    await start_validation(hass, aioclient_mock, code="424242")
    freezer.tick(timedelta(minutes=15))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    shown = notification(hass)
    assert shown["title"] == "Caller ID code for +49 176 12345678 (seven.io) expired"
    assert "Start a new validation" in shown["message"]
    assert "424242" not in shown["message"]


async def test_texts_follow_home_assistants_language(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """With Home Assistant in German, the code and the outcome read German."""
    await hass.config.async_update(language="de")
    path = await start_validation(hass, aioclient_mock, code="424242")
    shown = notification(hass)
    assert shown["title"] == "Anrufer-ID-Code für +49 176 12345678 (seven.io)"
    assert "Nimm den Anruf an und gib den Code **424242**" in shown["message"]

    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(SEVEN_WRONG_CODE))).status == 200
    await hass.async_block_till_done()
    assert notification(hass)["title"] == (
        "Bestätigung von +49 176 12345678 (seven.io) fehlgeschlagen"
    )
