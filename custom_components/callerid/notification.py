"""The persistent notification that shows a validation code."""

from __future__ import annotations

from homeassistant.components import persistent_notification
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback

from .const import DOMAIN
from .store import NumberRecord


def _notification_id(entry: ConfigEntry, number: str) -> str:
    return f"{DOMAIN}_{entry.entry_id}_{number}"


@callback
def async_show_code(
    hass: HomeAssistant,
    entry: ConfigEntry,
    record: NumberRecord,
    code: str,
    *,
    callback_reachable: bool,
) -> None:
    """Show the code for the record's number, replacing an earlier one for it."""
    outcome = (
        "The caller ID sensor turns on once seven.io confirms the number."
        if callback_reachable
        else "Home Assistant has no URL that seven.io can reach, so the caller ID "
        "sensor will not update by itself: see Settings > Repairs."
    )
    formatted = record.formatted
    persistent_notification.async_create(
        hass,
        (
            f"seven.io is calling **{formatted}** now.\n\n"
            f"Answer the call and type the code **{code}** on the keypad.\n\n"
            f"{outcome}"
        ),
        title=f"Caller ID code for {formatted}",
        notification_id=_notification_id(entry, record.number),
    )


@callback
def async_dismiss_code(hass: HomeAssistant, entry: ConfigEntry, number: str) -> None:
    """Remove the code notification of `number`, if there is one."""
    persistent_notification.async_dismiss(hass, _notification_id(entry, number))
