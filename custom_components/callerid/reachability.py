"""Where seven.io reaches Home Assistant, and the hook that reports how calls end."""

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from ipaddress import ip_address
from typing import TYPE_CHECKING

from yarl import URL

from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.util.network import is_local

from .api import (
    DEFAULT_BASE_URL,
    Hook,
    SevenAuthenticationError,
    SevenClient,
    SevenError,
    SevenMissingScopeError,
)
from .const import (
    CALLBACK_TOKEN_PARAM,
    CONF_BASE_URL,
    CONF_CALL_CLOUDHOOK_URL,
    CONF_CLOUDHOOK_URL,
    DOMAIN,
    ISSUE_CALLBACK_UNREACHABLE,
    ISSUE_HOOK_SYNC_FAILED,
    ISSUE_HOOKS_RIGHT,
    LOGGER,
)
from .helpers import async_issue, call_webhook_id

if TYPE_CHECKING:
    from .coordinator import CallerIdConfigEntry

# A failed sync is retried after a minute, doubling up to an hour; a repair from the third.
RETRY_FIRST = 60
RETRY_MAX = 3600
FAILURES_BEFORE_REPAIR = 3


@dataclass(frozen=True, slots=True)
class CallbackUrl:
    """Where seven.io should report, and whether it can get there from the internet."""

    url: str
    reachable: bool


async def async_callback_url(
    hass: HomeAssistant, entry: CallerIdConfigEntry, token: str
) -> CallbackUrl:
    """Return the URL seven.io should call for one validation, carrying its token."""
    webhook_id = entry.data[CONF_WEBHOOK_ID]
    base = await _async_public_url(hass, entry, webhook_id, CONF_CLOUDHOOK_URL)
    reachable = base is not None
    # The repair is every entry's: this one reachable does not drop another's.
    async_check_reachability(hass, unreachable=not reachable)
    if base is None:
        try:
            base = webhook.async_generate_url(hass, webhook_id)
        except NoURLAvailableError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="no_callback_url"
            ) from err
    # Tokens are URL-safe already (secrets.token_urlsafe): nothing to quote.
    separator = "&" if "?" in base else "?"
    return CallbackUrl(f"{base}{separator}{CALLBACK_TOKEN_PARAM}={token}", reachable)


@callback
def async_check_reachability(hass: HomeAssistant, *, unreachable: bool = False) -> None:
    """Show the unreachable-callback repair while an entry is set up without a public URL."""
    present = unreachable or any(
        entry.state in (ConfigEntryState.LOADED, ConfigEntryState.SETUP_IN_PROGRESS)
        and not has_public_url(hass, entry)
        for entry in hass.config_entries.async_entries(DOMAIN)
    )
    async_issue(hass, ISSUE_CALLBACK_UNREACHABLE, present=present)


@callback
def has_public_url(hass: HomeAssistant, entry: CallerIdConfigEntry) -> bool:
    """Return whether the entry's gateway can reach Home Assistant (cloudhook, external)."""
    if "cloud" in hass.config.components:
        from homeassistant.components import cloud  # noqa: PLC0415

        if cloud.async_active_subscription(hass):
            return True
    return _external_url(hass, entry, entry.data[CONF_WEBHOOK_ID]) is not None


def _external_url(
    hass: HomeAssistant, entry: CallerIdConfigEntry, webhook_id: str
) -> str | None:
    """Return the webhook's URL if the entry's gateway reaches it (LAN only from LAN)."""
    try:
        url = webhook.async_generate_url(hass, webhook_id, allow_internal=False)
    except NoURLAvailableError:
        return None
    gateway = entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL)
    return url if _on_internet(url) or not _on_internet(gateway) else None


def _on_internet(url: str) -> bool:
    """Return whether a URL's host may be reached from the internet."""
    host = (URL(url).host or "").removesuffix(".")  # "localhost." is localhost
    try:
        address = ip_address(host)
    except ValueError:  # a name: this machine's, mDNS (.local) or a single label
        return "." in host and not host.endswith(".local")
    # Home Assistant's LAN ranges (link-local too), and what else is not global (CGNAT).
    return address.is_global and not is_local(address)


async def _async_public_url(
    hass: HomeAssistant, entry: CallerIdConfigEntry, webhook_id: str, cloudhook_key: str
) -> str | None:
    """Return where the internet reaches a webhook of the entry: cloudhook, else external."""
    if "cloud" in hass.config.components:
        # Imported here: the cloud integration is large and only there when loaded.
        from homeassistant.components import cloud  # noqa: PLC0415

        if cloud.async_active_subscription(hass):
            with contextlib.suppress(cloud.CloudNotAvailable, cloud.CloudNotConnected):
                url = await cloud.async_get_or_create_cloudhook(hass, webhook_id)
                # Kept, to be deleted with the entry (saved only when it changed).
                hass.config_entries.async_update_entry(
                    entry, data={**entry.data, cloudhook_key: url}
                )
                return url
    return _external_url(hass, entry, webhook_id)


async def async_our_hooks(
    entry: CallerIdConfigEntry, client: SevenClient
) -> list[Hook]:
    """Return the account's voice_status hooks that point at this entry's webhook."""
    webhook_id = call_webhook_id(entry)
    cloudhook = entry.data.get(CONF_CALL_CLOUDHOOK_URL)
    return [
        hook
        for hook in await client.hooks()
        if hook.event_type == "voice_status"
        and (webhook_id in hook.target_url or hook.target_url == cloudhook)
    ]


class HookSync:
    """Keeps exactly one voice_status hook at seven.io, at the entry's public URL, or none.

    Syncs run one at a time; a failed one is retried, later and later, with a repair.
    """

    def __init__(
        self, hass: HomeAssistant, entry: CallerIdConfigEntry, client: SevenClient
    ) -> None:
        """Nothing is asked yet."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self._lock = asyncio.Lock()
        self._failures = 0
        self._retry: CALLBACK_TYPE | None = None
        self._closed = False
        # Whether seven.io reports how calls end.
        self.outcome_reported = False

    @callback
    def async_schedule(self) -> None:
        """Sync soon, after any sync under way."""
        # Not eagerly: the entry's setup (or a URL change) is done first.
        self._entry.async_create_background_task(
            self._hass,
            self.async_sync(),
            f"{DOMAIN} voice_status hook",
            eager_start=False,
        )

    @callback
    def async_shutdown(self) -> None:
        """Stop retrying; no sync starts after.

        One under way is cancelled with the entry: the next finds whatever hook it left.
        """
        self._closed = True
        self._cancel_retry()

    async def async_sync(self) -> None:
        """Make the account's hooks to this entry one, at the current URL; check the key."""
        async with self._lock:
            if self._closed:
                return
            self._cancel_retry()
            try:
                self.outcome_reported = await self._async_sync()
            except SevenMissingScopeError:
                self.outcome_reported = False
                self._failures = 0
                self._issue(ISSUE_HOOKS_RIGHT, present=True)
            except SevenAuthenticationError:
                # A new key reloads the entry; callbacks keep landing meanwhile.
                self.outcome_reported = False
                self._entry.async_start_reauth(self._hass)
            except SevenError as err:
                self.outcome_reported = False
                self._failures += 1
                delay = min(RETRY_FIRST * 2 ** (self._failures - 1), RETRY_MAX)
                LOGGER.warning(
                    "Could not set up seven.io's report of ended calls (%s); trying "
                    "again in %d s",
                    err,
                    delay,
                )
                self._retry = async_call_later(self._hass, delay, self._async_retry)
            else:
                self._failures = 0
                self._issue(ISSUE_HOOKS_RIGHT, present=False)
            self._issue(
                ISSUE_HOOK_SYNC_FAILED, present=self._failures >= FAILURES_BEFORE_REPAIR
            )

    async def _async_sync(self) -> bool:
        """Return whether a hook now points at the entry."""
        entry = self._entry
        url = await _async_public_url(
            self._hass, entry, call_webhook_id(entry), CONF_CALL_CLOUDHOOK_URL
        )
        ours = await async_our_hooks(entry, self._client)
        kept = next((hook for hook in ours if hook.target_url == url), None)
        if url is not None and kept is None:
            await self._client.create_hook(url)
        for hook in ours:
            if hook is not kept:
                await self._client.delete_hook(hook.hook_id)
        return url is not None

    @callback
    def _async_retry(self, _: datetime) -> None:
        self._retry = None
        self.async_schedule()

    def _cancel_retry(self) -> None:
        if self._retry is not None:
            self._retry()
            self._retry = None

    def _issue(self, key: str, *, present: bool) -> None:
        async_issue(self._hass, key, present=present, entry=self._entry)
