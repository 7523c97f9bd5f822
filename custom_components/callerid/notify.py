"""Recipients as notify targets: an entity each, and legacy services for alert and Alarmo."""

from collections import Counter
from typing import Any

from homeassistant.components.notify import NotifyEntity
from homeassistant.components.notify.const import ATTR_TARGET, ATTR_TITLE
from homeassistant.components.notify.legacy import BaseNotificationService
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType
from homeassistant.util import slugify

from .const import DOMAIN, SUBENTRY_RECIPIENT
from .coordinator import CallerIdConfigEntry
from .entity import async_add_recipient_entities, recipient_device
from .helpers import invalid
from .services import async_call_recipient

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CallerIdConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a notify entity for each of the account's recipients."""
    async_add_recipient_entities(entry, async_add_entities, RecipientNotifyEntity)


def _spoken(message: str, title: str | None) -> str:
    """Return what the call says: the title first, as a person would."""
    return f"{title}. {message}" if title else message


class RecipientNotifyEntity(NotifyEntity):
    """Calls one recipient with the message, from the caller ID chosen for them."""

    _attr_has_entity_name = True
    _attr_name = None
    _attr_should_poll = False

    def __init__(self, entry: CallerIdConfigEntry, recipient: ConfigSubentry) -> None:
        """Tie the entity to its recipient, on a device of its own under the account."""
        self._entry = entry
        self._recipient = recipient
        self._attr_unique_id = recipient.subentry_id
        self._attr_device_info = recipient_device(recipient)

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Place the call."""
        await async_call_recipient(
            self._entry, self._recipient, _spoken(message, title)
        )


async def async_get_service(
    hass: HomeAssistant,
    config: ConfigType,
    discovery_info: DiscoveryInfoType | None = None,
) -> RecipientsNotificationService:
    """Return the legacy service: notify.callerid, and notify.callerid_<name> each."""
    return RecipientsNotificationService()


def _named(
    hass: HomeAssistant,
) -> dict[str, tuple[CallerIdConfigEntry, ConfigSubentry]]:
    """Return every loaded account's recipients by name, the account's first if two share it."""
    recipients = [
        (entry, recipient)
        for entry in hass.config_entries.async_loaded_entries(DOMAIN)
        for recipient in entry.get_subentries_of_type(SUBENTRY_RECIPIENT)
    ]
    names = Counter(slugify(recipient.title) for _, recipient in recipients)
    return {
        recipient.title
        if names[slugify(recipient.title)] == 1
        else f"{entry.title} {recipient.title}": (entry, recipient)
        for entry, recipient in recipients
    }


def _target(
    hass: HomeAssistant, target: str
) -> tuple[CallerIdConfigEntry, ConfigSubentry]:
    """Return the recipient a target names: its id, or its name as the targets list it."""
    named = _named(hass)
    wanted = slugify(target)
    found = [
        name
        for name, (_, recipient) in named.items()
        if target == recipient.subentry_id or slugify(name) == wanted
    ]
    if len(found) == 1:
        return named[found[0]]
    # Several names that read the same, or a bare name of recipients of two accounts.
    if same := found or [
        n for n, (_, r) in named.items() if slugify(r.title) == wanted
    ]:
        raise invalid("recipient_ambiguous", name=target, names=", ".join(same))
    raise invalid("recipient_unknown", entity_id=target)


class RecipientsNotificationService(BaseNotificationService):
    """Legacy notify targets, one per recipient of every loaded account."""

    @property
    def targets(self) -> dict[str, str]:
        """Return each recipient's name and id."""
        return {
            name: recipient.subentry_id
            for name, (_, recipient) in _named(self.hass).items()
        }

    async def async_send_message(self, message: str = "", **kwargs: Any) -> None:
        """Call each target, once all of them are known."""
        targets: list[str] = kwargs.get(ATTR_TARGET) or []
        if not targets:
            raise invalid("recipient_required")
        chosen = [_target(self.hass, target) for target in targets]
        spoken = _spoken(message, kwargs.get(ATTR_TITLE))
        for entry, recipient in chosen:
            await async_call_recipient(entry, recipient, spoken)
