"""Diagnostics for a callerid config entry, with every secret redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant

from .const import CONF_CLOUDHOOK_URL
from .data import CallerIdConfigEntry

TO_REDACT = {
    CONF_API_KEY,
    CONF_WEBHOOK_ID,
    CONF_CLOUDHOOK_URL,
    "token_hash",
    "unique_id",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: CallerIdConfigEntry
) -> dict[str, Any]:
    """Return the entry and its numbers."""
    return async_redact_data(
        {
            "entry": {"data": dict(entry.data), "unique_id": entry.unique_id},
            "numbers": [
                asdict(record) for record in entry.runtime_data.store.records.values()
            ],
        },
        TO_REDACT,
    )
