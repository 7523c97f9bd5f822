"""Validate caller IDs with the seven.io voice gateway, and call from them."""

from typing import Any

from homeassistant.components.notify.legacy import async_reload as async_reload_notify
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_NAME, EVENT_CORE_CONFIG_UPDATE, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, discovery
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN, SUBENTRY_RECIPIENT
from .coordinator import CallerIdConfigEntry, CallerIdCoordinator
from .entity import async_hide_numbers_past_limit
from .helpers import invalid, seven_client
from .phone import load_metadata
from .reachability import async_check_reachability
from .services import async_setup_services
from .storage import CallerIdStore
from .webhook import async_forget_webhooks, async_register_webhooks

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.NOTIFY,
    Platform.SELECT,
    Platform.SENSOR,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions; own every entry's webhooks from the start."""
    # Until an entry's webhooks are ours, Home Assistant answers them 200.
    for entry in hass.config_entries.async_entries(DOMAIN):
        async_register_webhooks(hass, entry)
    # Off the event loop: parsing a number would otherwise read files inside it.
    await hass.async_add_executor_job(load_metadata)
    async_setup_services(hass)
    # notify.callerid_<name> for each recipient: what alert and Alarmo can call.
    hass.async_create_task(
        discovery.async_load_platform(
            hass, Platform.NOTIFY, DOMAIN, {CONF_NAME: DOMAIN}, config
        ),
        eager_start=True,
    )

    @callback
    def _urls_changed(_: Event[Any]) -> None:
        # The repair and seven.io's hook follow Home Assistant's URL.
        async_check_reachability(hass)
        entry: CallerIdConfigEntry
        for entry in hass.config_entries.async_loaded_entries(DOMAIN):
            entry.runtime_data.hooks.async_schedule()

    hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, _urls_changed)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: CallerIdConfigEntry) -> bool:
    """Set up one seven.io account."""
    async_register_webhooks(hass, entry)  # an entry added after async_setup
    coordinator = CallerIdCoordinator(hass, entry, seven_client(hass, entry.data))
    await coordinator.async_load()  # raises a translated ConfigEntryError if unreadable
    entry.runtime_data = coordinator
    coordinator.hidden = async_hide_numbers_past_limit(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    async_check_reachability(hass)
    loaded_with = _inputs(entry)

    async def _async_changed(hass: HomeAssistant, entry: CallerIdConfigEntry) -> None:
        # Options and recipients are read at setup; the cloudhook URL kept is not.
        if _inputs(entry) != loaded_with:
            hass.config_entries.async_schedule_reload(entry.entry_id)
        # A caller ID deleted on the account's page: its number is forgotten.
        coordinator.listing.async_forget_deleted()

    @callback
    def _state_changed() -> None:
        # Loaded or unloading: the legacy notify services follow the recipients. In
        # the background: Home Assistant stopping need not wait for it.
        hass.async_create_background_task(
            async_reload_notify(hass, DOMAIN), f"{DOMAIN} notify", eager_start=True
        )

    entry.async_on_unload(entry.add_update_listener(_async_changed))
    coordinator.listing.async_forget_deleted()  # a row deleted while setting up
    entry.async_on_unload(entry.async_on_state_change(_state_changed))
    # In the background: start-up never waits on seven.io. It checks the key too.
    coordinator.hooks.async_schedule()
    entry.async_create_background_task(
        hass,
        coordinator.async_refresh_balance(),
        f"{DOMAIN} balance",
        eager_start=False,
    )
    # Calls still ringing when Home Assistant stopped may have ended meanwhile.
    coordinator.track(coordinator.calls.journal.async_look_up(every=True))
    return True


def _inputs(entry: CallerIdConfigEntry) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return what an entry is set up from: its options and its recipients."""
    recipients = {
        recipient.subentry_id: (recipient.title, dict(recipient.data))
        for recipient in entry.get_subentries_of_type(SUBENTRY_RECIPIENT)
    }
    return dict(entry.options), recipients


async def async_unload_entry(hass: HomeAssistant, entry: CallerIdConfigEntry) -> bool:
    """Unload once nothing is under way, while the entry still tells what happens."""
    await entry.runtime_data.async_shutdown()
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    async_check_reachability(hass)
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: CallerIdConfigEntry) -> None:
    """Forget the entry's numbers, calls, hook at seven.io and cloudhooks."""
    await CallerIdStore(hass, entry.entry_id).async_remove_all()
    await async_forget_webhooks(hass, entry, seven_client(hass, entry.data))


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: CallerIdConfigEntry, device: DeviceEntry
) -> bool:
    """Forget a number when the user deletes its device; the account's stays."""
    # The account's device, and a recipient's (deleting the recipient removes it).
    if any(
        identifier == entry.entry_id or identifier in entry.subentries
        for domain, identifier in device.identifiers
        if domain == DOMAIN
    ):
        return False
    if entry.state is not ConfigEntryState.LOADED:  # Home Assistant offers it anyway
        raise invalid("device_kept_unloaded", title=entry.title)
    prefix = f"{entry.entry_id}_"
    for domain, identifier in device.identifiers:
        if domain == DOMAIN and identifier.startswith(prefix):
            await entry.runtime_data.async_forget(identifier.removeprefix(prefix))
    return True
