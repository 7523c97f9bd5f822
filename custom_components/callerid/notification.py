"""A validation's persistent notification (Home Assistant's language): code, then end."""

from typing import TYPE_CHECKING

from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN, ValidationStatus
from .models import NumberRecord

if TYPE_CHECKING:
    from .coordinator import CallerIdConfigEntry

# Translation keys, under "exceptions" (the category that takes free texts).
_CODE = "notification_code"
_OUTCOME = {
    ValidationStatus.FAILED: "notification_failed",
    ValidationStatus.EXPIRED: "notification_expired",
}


def _notification_id(entry: CallerIdConfigEntry, number: str) -> str:
    return f"{DOMAIN}_{entry.entry_id}_{number}"


async def _async_show(
    hass: HomeAssistant,
    entry: CallerIdConfigEntry,
    record: NumberRecord,
    key: str,
    **placeholders: str,
) -> None:
    """Show the notification of the record's number, replacing the one it has."""
    translations = await async_get_translations(
        hass, hass.config.language, "exceptions", [DOMAIN]
    )
    # The number as its device is named: with its account.
    placeholders["number"] = f"{record.formatted} ({entry.title})"

    def text(part: str) -> str:
        name = f"{key}_{part}"
        found = translations.get(f"component.{DOMAIN}.exceptions.{name}.message", name)
        return found.format(**placeholders)

    persistent_notification.async_create(
        hass,
        text("message"),
        title=text("title"),
        notification_id=_notification_id(entry, record.number),
    )


async def async_show_code(
    hass: HomeAssistant,
    entry: CallerIdConfigEntry,
    record: NumberRecord,
    code: str,
    callback_reachable: bool,
) -> None:
    """Show the code for the record's number, replacing an earlier one for it."""
    key = _CODE if callback_reachable else f"{_CODE}_unreachable"
    await _async_show(hass, entry, record, key, code=code)


@callback
def async_show_outcome(
    hass: HomeAssistant, entry: CallerIdConfigEntry, record: NumberRecord
) -> None:
    """Replace the code with how the validation ended; validated needs no words."""
    if (key := _OUTCOME.get(record.status)) is None:
        async_dismiss_code(hass, entry, record.number)
        return
    placeholders = {}
    # seven.io's own words are all there is to say why a validation failed, if any.
    if record.error is not None and record.status is ValidationStatus.FAILED:
        key = f"{key}_reason"
        placeholders["error"] = record.error
    # Only a failure or expiry waits for the translations (loaded once, then cached).
    hass.async_create_task(
        _async_show(hass, entry, record, key, **placeholders),
        f"{DOMAIN} outcome notification",
    )


@callback
def async_dismiss_code(
    hass: HomeAssistant, entry: CallerIdConfigEntry, number: str
) -> None:
    """Remove the notification of `number`, if there is one."""
    persistent_notification.async_dismiss(hass, _notification_id(entry, number))
