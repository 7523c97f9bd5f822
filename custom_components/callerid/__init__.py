"""Validate caller IDs with the seven.io voice gateway."""

from __future__ import annotations

import contextlib

from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.helpers.typing import ConfigType

from .api import (
    DEFAULT_BASE_URL,
    SevenAuthenticationError,
    SevenClient,
    SevenError,
    SevenMissingScopeError,
)
from .const import CONF_BASE_URL, CONF_CLOUDHOOK_URL, DOMAIN, LOGGER
from .data import CallerIdConfigEntry, CallerIdData
from .entity import number_from_device
from .services import async_setup_services
from .store import NumberStore
from .webhook import async_register_callback

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [Platform.BINARY_SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: CallerIdConfigEntry) -> bool:
    """Set up one seven.io account."""
    client = SevenClient(
        async_get_clientsession(hass),
        entry.data[CONF_API_KEY],
        base_url=entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL),
    )
    try:
        await client.balance()
    except SevenAuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="auth_failed"
        ) from err
    except SevenMissingScopeError:
        pass  # The key authenticates; it only may not read the balance.
    except SevenError as err:
        # The callback webhook must stay up while the gateway is out of reach, or a
        # validation completed meanwhile would be lost; the action reports the outage.
        LOGGER.warning("seven.io could not be reached at setup: %s", err)

    store = NumberStore(hass, entry.entry_id)
    await store.async_load()
    entry.runtime_data = CallerIdData(client=client, store=store)

    entry.async_on_unload(async_register_callback(hass, entry))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: CallerIdConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: CallerIdConfigEntry) -> None:
    """Forget the entry's numbers and its cloudhook."""
    await NumberStore(hass, entry.entry_id).async_remove()
    if entry.data.get(CONF_CLOUDHOOK_URL) and "cloud" in hass.config.components:
        from homeassistant.components import cloud  # noqa: PLC0415

        with contextlib.suppress(cloud.CloudNotAvailable):
            await cloud.async_delete_cloudhook(hass, entry.data[CONF_WEBHOOK_ID])


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: CallerIdConfigEntry, device: DeviceEntry
) -> bool:
    """Forget a number when the user deletes its device."""
    if (number := number_from_device(entry, device)) is not None:
        await entry.runtime_data.store.async_forget(number)
    return True
