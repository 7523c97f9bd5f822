"""Bench-only floors: webhooks, a bare gateway request, entities; and the bench's probes.

Installed only into the benchmark's temporary Home Assistant; never shipped.
"""

from __future__ import annotations

import asyncio
from typing import Any

import probatio

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .probes import async_register_probes
from .webhooks import async_register_webhooks

REQUEST_SCHEMA = probatio.Schema(
    {
        probatio.Required("url"): str,
        probatio.Required("number"): str,
        probatio.Required("callback"): str,
        probatio.Required("key"): str,
    }
)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the floors and the probes."""
    async_register_webhooks(hass)
    async_register_probes(hass)

    async def request(call: ServiceCall) -> ServiceResponse:
        # The same single request callerid.validate makes, and nothing else.
        session = async_get_clientsession(hass)
        async with asyncio.timeout(10):
            async with session.post(
                call.data["url"],
                data={"number": call.data["number"], "callback": call.data["callback"]},
                headers={"X-Api-Key": call.data["key"], "Accept": "application/json"},
            ) as response:
                body = await response.json()
        return {"code": body.get("code")}

    hass.services.async_register(
        DOMAIN,
        "request",
        request,
        schema=REQUEST_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    return True


def _platforms(entry: ConfigEntry) -> list[Platform]:
    # The other platforms only for entries whose slots reach them (entity.py's order:
    # status, last call, two buttons, a select).
    enabled = entry.data.get("entities", 1)
    sensors = enabled - 1 + entry.data.get("disabled", 0)
    return [
        platform
        for platform, present in (
            (Platform.BINARY_SENSOR, True),
            (Platform.SENSOR, sensors > 0),
            (Platform.BUTTON, enabled > 3),
            (Platform.SELECT, enabled > 5),
        )
        if present
    ]


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Load the entry's storage file, if it names one; set up its entities.

    The file (a copy of the integration's, see the setup scenario) is read with Store,
    as the integration reads its own, and kept while the entry is loaded.
    """
    if (key := entry.data.get("storage")) is not None:
        store: Store[dict[str, Any]] = Store(
            hass,
            entry.data["storage_version"],
            key,
            private=True,
            atomic_writes=True,
            minor_version=entry.data["storage_minor_version"],
        )
        if not isinstance(data := await store.async_load(), dict):
            raise ConfigEntryError(f"no storage file at {store.path}")
        entry.runtime_data = data
    await hass.config_entries.async_forward_entry_setups(entry, _platforms(entry))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Unload the sensors."""
    return await hass.config_entries.async_unload_platforms(entry, _platforms(entry))
