"""Validate caller IDs with the seven.io voice gateway."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from homeassistant.const import (
    CONF_API_KEY,
    CONF_WEBHOOK_ID,
    EVENT_CORE_CONFIG_UPDATE,
    Platform,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv, issue_registry as ir
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
from .call_status import (
    async_register_call_status,
    async_remove_hook,
    async_sync_hook,
)
from .calls import CallStore
from .const import (
    CONF_BASE_URL,
    CONF_CALL_CLOUDHOOK_URL,
    CONF_CALL_WEBHOOK_ID,
    CONF_CLOUDHOOK_URL,
    CONF_CODE_LIFETIME,
    DEFAULT_CODE_LIFETIME,
    DOMAIN,
    EVENT_VALIDATION_COMPLETED,
    ISSUE_TOO_MANY_NUMBERS,
    LOGGER,
    ValidationStatus,
)
from .data import CallerIdConfigEntry, CallerIdData
from .entity import async_hide_numbers_past_limit, number_from_device
from .notification import async_dismiss_code, async_show_outcome
from .phone import load_metadata
from .services import async_setup_services
from .store import (
    NumberRecord,
    NumberStore,
    StorageUnreadableError,
    async_remove_numbers,
)
from .trigger import completion_event_data
from .webhook import (
    async_check_reachability,
    async_clear_reachability,
    async_register_callback,
    async_setup_reachability,
    async_unregister_webhook,
)

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [Platform.BINARY_SENSOR, Platform.SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions."""
    # First: until an entry's webhooks are ours, Home Assistant answers them 200.
    for entry in hass.config_entries.async_entries(DOMAIN):
        async_register_callback(hass, entry)
        async_register_call_status(hass, entry)
    # Off the event loop: parsing a number would otherwise read files inside it.
    await hass.async_add_executor_job(load_metadata)
    async_setup_services(hass)
    async_setup_reachability(hass)

    @callback
    def _urls_changed(_: Event[Any]) -> None:
        # seven.io's hook must follow Home Assistant's URL.
        for entry in hass.config_entries.async_loaded_entries(DOMAIN):
            entry.async_create_background_task(
                hass, async_sync_hook(hass, entry), f"{DOMAIN} voice_status hook"
            )

    hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, _urls_changed)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: CallerIdConfigEntry) -> bool:
    """Set up one seven.io account."""
    # An entry added after async_setup.
    async_register_callback(hass, entry)
    async_register_call_status(hass, entry)
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
    calls = CallStore(hass, entry.entry_id)
    for stored in (store, calls):
        try:
            await stored.async_load()
        except StorageUnreadableError as err:
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="storage_unreadable",
                translation_placeholders={"path": err.path},
            ) from err
        entry.async_on_unload(stored.async_shutdown)
    entry.runtime_data = CallerIdData(client=client, store=store, calls=calls)
    entry.runtime_data.hidden = async_hide_numbers_past_limit(hass, entry)

    @callback
    def _dismiss_used_code(record: NumberRecord) -> None:
        # seven.io knew the number already: the code shown before is of no use.
        if record.status is ValidationStatus.VALIDATED:
            async_dismiss_code(hass, entry, record.number)

    @callback
    def _completed(record: NumberRecord) -> None:
        # Whoever started the validation learns how it ended.
        async_show_outcome(hass, entry, record)
        hass.bus.async_fire(
            EVENT_VALIDATION_COMPLETED, completion_event_data(entry, record)
        )

    entry.async_on_unload(store.async_listen_changes(_dismiss_used_code))
    entry.async_on_unload(store.async_listen_completed(_completed))

    async_check_reachability(hass)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Start-up never waits on seven.io (up to the client's timeout).
    entry.async_create_background_task(
        hass, _async_check_key(hass, entry, client), f"{DOMAIN} key check"
    )
    entry.async_create_background_task(
        hass, async_sync_hook(hass, entry), f"{DOMAIN} voice_status hook"
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
    """Unload a config entry; with the last one goes the unreachable-callback repair.

    A validation waiting for seven.io is finished first, while the entry still tells
    what happens (Home Assistant would give it 10 seconds as an unload callback).
    """
    await entry.runtime_data.store.async_finish_changes()
    if not [
        other
        for other in hass.config_entries.async_loaded_entries(DOMAIN)
        if other.entry_id != entry.entry_id
    ]:
        async_clear_reachability(hass)
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: CallerIdConfigEntry) -> None:
    """Forget the entry's numbers, calls, hook at seven.io and cloudhooks."""
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_TOO_MANY_NUMBERS}_{entry.entry_id}")
    for webhook_key in (CONF_WEBHOOK_ID, CONF_CALL_WEBHOOK_ID):
        if webhook_key in entry.data:
            async_unregister_webhook(hass, entry.data[webhook_key])
    await async_remove_numbers(hass, entry.entry_id)
    await CallStore(hass, entry.entry_id).async_remove()
    await async_remove_hook(hass, entry)
    if "cloud" in hass.config.components:
        from homeassistant.components import cloud  # noqa: PLC0415

        for webhook_key, cloudhook_key in (
            (CONF_WEBHOOK_ID, CONF_CLOUDHOOK_URL),
            (CONF_CALL_WEBHOOK_ID, CONF_CALL_CLOUDHOOK_URL),
        ):
            if entry.data.get(cloudhook_key):
                with contextlib.suppress(cloud.CloudNotAvailable):
                    await cloud.async_delete_cloudhook(hass, entry.data[webhook_key])


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: CallerIdConfigEntry, device: DeviceEntry
) -> bool:
    """Forget a number when the user deletes its device."""
    if (number := number_from_device(entry, device)) is not None:
        await entry.runtime_data.store.async_forget(number)
        async_dismiss_code(hass, entry, number)
    return True
