"""Validate caller IDs with the seven.io voice gateway."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError
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
from .const import (
    CONF_BASE_URL,
    CONF_CLOUDHOOK_URL,
    CONF_CODE_LIFETIME,
    DEFAULT_CODE_LIFETIME,
    DOMAIN,
    LOGGER,
    ValidationStatus,
)
from .data import CallerIdConfigEntry, CallerIdData
from .entity import number_from_device
from .notification import async_dismiss_code
from .phone import load_metadata
from .services import async_setup_services
from .store import (
    NumberRecord,
    NumberStore,
    StorageUnreadableError,
    async_remove_numbers,
)
from .webhook import (
    async_register_callback,
    async_setup_reachability,
    async_unregister_callback,
)

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [Platform.BINARY_SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions."""
    # First: until an entry's webhook is ours, Home Assistant answers its callbacks 200.
    for entry in hass.config_entries.async_entries(DOMAIN):
        async_register_callback(hass, entry)
    # Off the event loop: parsing a number would otherwise read files inside it.
    await hass.async_add_executor_job(load_metadata)
    async_setup_services(hass)
    async_setup_reachability(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: CallerIdConfigEntry) -> bool:
    """Set up one seven.io account."""
    async_register_callback(hass, entry)  # an entry added after async_setup
    client = SevenClient(
        async_get_clientsession(hass),
        entry.data[CONF_API_KEY],
        base_url=entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL),
    )
    store = NumberStore(
        hass,
        entry.entry_id,
        code_lifetime=timedelta(
            minutes=entry.options.get(CONF_CODE_LIFETIME, DEFAULT_CODE_LIFETIME)
        ),
    )
    try:
        await store.async_load()
    except StorageUnreadableError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="storage_unreadable",
            translation_placeholders={"path": err.path},
        ) from err
    entry.async_on_unload(store.async_shutdown)
    entry.runtime_data = CallerIdData(client=client, store=store)

    @callback
    def _dismiss_used_code(record: NumberRecord) -> None:
        # Validated, failed or expired: the code shown is of no use any more.
        if record.status is not ValidationStatus.PENDING:
            async_dismiss_code(hass, entry, record.number)

    entry.async_on_unload(store.async_listen_changes(_dismiss_used_code))

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Start-up never waits on seven.io (up to the client's timeout).
    entry.async_create_background_task(
        hass, _async_check_key(hass, entry, client), f"{DOMAIN} key check"
    )
    return True


async def _async_check_key(
    hass: HomeAssistant, entry: CallerIdConfigEntry, client: SevenClient
) -> None:
    """Ask for a new key if seven.io rejects it; the entry stays loaded meanwhile."""
    try:
        await client.balance()
    except SevenAuthenticationError:
        # Callbacks of validations under way keep landing; the action says why it
        # cannot ring until the key is replaced.
        entry.async_start_reauth(hass)
    except SevenMissingScopeError:
        pass  # The key authenticates; it only may not read the balance.
    except SevenError as err:
        # The action reports the outage when it is used.
        LOGGER.warning("seven.io could not be reached at setup: %s", err)


async def async_unload_entry(hass: HomeAssistant, entry: CallerIdConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: CallerIdConfigEntry) -> None:
    """Forget the entry's numbers and its cloudhook."""
    async_unregister_callback(hass, entry.data[CONF_WEBHOOK_ID])
    await async_remove_numbers(hass, entry.entry_id)
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
        async_dismiss_code(hass, entry, number)
    return True
