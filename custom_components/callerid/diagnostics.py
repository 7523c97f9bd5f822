"""Diagnostics for a callerid config entry, with every secret redacted and numbers masked."""

from dataclasses import asdict
import re
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant

from .const import (
    CONF_BASE_URL,
    CONF_CALL_CLOUDHOOK_URL,
    CONF_CALL_WEBHOOK_ID,
    CONF_CLOUDHOOK_URL,
)
from .coordinator import CallerIdConfigEntry
from .phone import mask_number

TO_REDACT = {
    CONF_API_KEY,
    # A testing aid that may hold credentials; seven.io's own is not stored.
    CONF_BASE_URL,
    CONF_WEBHOOK_ID,
    CONF_CLOUDHOOK_URL,
    CONF_CALL_WEBHOOK_ID,
    CONF_CALL_CLOUDHOOK_URL,
    "token_hash",
    "unique_id",
}
# A phone number inside seven.io's free text: digits, maybe with separators.
_DIGITS = re.compile(r"\+?\d[\d ()./-]{4,}\d")


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: CallerIdConfigEntry
) -> dict[str, Any]:
    """Return the entry, its options and its numbers; people paste this in public."""
    return async_redact_data(
        {
            "entry": {
                "data": dict(entry.data),
                "options": dict(entry.options),
                "unique_id": entry.unique_id,
            },
            # Each number masked as in the logs, also where it is formatted or quoted.
            "numbers": [
                asdict(record)
                | dict.fromkeys(("number", "formatted"), mask_number(record.number))
                | {"error": record.error and _DIGITS.sub(REDACTED, record.error)}
                for record in entry.runtime_data.numbers.values()
            ],
        },
        TO_REDACT,
    )
