"""Shared base of the integration's entities: one device per number."""

from collections.abc import Callable

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_platform, entity_registry as er
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import slugify

from .const import (
    ACCOUNT_ENTITIES,
    DOMAIN,
    ENABLED_ENTITIES,
    ISSUE_TOO_MANY_NUMBERS,
    RECIPIENT_ENTITIES,
    SUBENTRY_RECIPIENT,
)
from .coordinator import CallerIdConfigEntry, CallerIdCoordinator
from .helpers import async_entity_room, async_issue, signal
from .models import NumberRecord
from .trigger import device_identifier


@callback
def async_hide_numbers_past_limit(
    hass: HomeAssistant, entry: CallerIdConfigEntry
) -> frozenset[str]:
    """Return the stored numbers to add no entities for, and say so in a repair issue.

    Past its limit Home Assistant drops an entry's new enabled entities (it logs), which
    would leave numbers with some of theirs: so whole numbers get entities, in order,
    while there is room for those not registered yet.
    """
    registry = er.async_get(hass)
    room = async_entity_room(hass, entry) - _unregistered_own(registry, entry)
    numbers = entry.runtime_data.numbers
    hidden: set[str] = set()
    # With room for every entity of every number (the usual case), nothing to count.
    for number in numbers if room < len(numbers) * len(ENABLED_ENTITIES) else ():
        missing = sum(
            registry.async_get_entity_id(
                platform, DOMAIN, f"{entry.entry_id}_{number}_{key}"
            )
            is None
            for platform, key in ENABLED_ENTITIES
        )
        # A number with all its entities registered keeps them: hiding it frees none.
        if not missing or missing <= room:
            room -= missing
        else:
            hidden.add(number)
    async_issue(
        hass,
        ISSUE_TOO_MANY_NUMBERS,
        present=bool(hidden),
        entry=entry,
        count=f"{len(hidden):,}",
        limit=f"{entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY:,}",
    )
    return frozenset(hidden)


def _unregistered_own(registry: er.EntityRegistry, entry: CallerIdConfigEntry) -> int:
    """Return how many of the account's and recipients' entities are not registered."""
    own = [("sensor", f"{entry.entry_id}_{key}") for key in ACCOUNT_ENTITIES] + [
        (platform, f"{recipient.subentry_id}{suffix}")
        for recipient in entry.get_subentries_of_type(SUBENTRY_RECIPIENT)
        for platform, suffix in RECIPIENT_ENTITIES
    ]
    return sum(
        registry.async_get_entity_id(platform, DOMAIN, unique_id) is None
        for platform, unique_id in own
    )


@callback
def async_add_number_entities(
    entry: CallerIdConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    kinds: tuple[type[CallerIdEntity], ...],
) -> None:
    """Add each kind's entity for every stored and every new number, on its subentry."""
    coordinator = entry.runtime_data

    @callback
    def add(record: NumberRecord) -> None:
        # A row just deleted: its number is being forgotten.
        if (row := coordinator.listing.shown(record.number)) is not None:
            async_add_entities(
                [kind(coordinator, record) for kind in kinds], config_subentry_id=row
            )

    for record in coordinator.numbers.values():
        if record.number not in coordinator.hidden:
            add(record)
    entry.async_on_unload(
        async_dispatcher_connect(coordinator.hass, signal(entry.entry_id, "new"), add)
    )


class CallerIdEntity(Entity):
    """An entity of one number, on its device; its translation key ends its unique id."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    # Whether the state shows the record (a button's does not).
    _follows_record = True

    def __init__(self, coordinator: CallerIdCoordinator, record: NumberRecord) -> None:
        """Tie the entity to the entry and the record's number."""
        number = self._number = record.number
        self._entry_id = entry_id = coordinator.entry.entry_id
        self._coordinator = coordinator
        self._record = record
        self._attr_unique_id = f"{entry_id}_{number}_{self.translation_key}"

    @property
    def device_info(self) -> DeviceInfo:
        """Return the number's device (asked for once, as the entity is added)."""
        return DeviceInfo(
            identifiers={device_identifier(self._entry_id, self._number)},
            name=f"{self._record.formatted} ({self._coordinator.entry.title})",
            manufacturer="seven.io",
            model="Caller ID",
            entry_type=None,  # a device of the account (earlier versions: a service)
        )

    async def async_prepare_to_add_to_hass(self) -> None:
        """Suggest an entity id of the number alone: the device's name has the account's."""
        await super().async_prepare_to_add_to_hass()
        domain, unique_id = self.platform.domain, str(self.unique_id)
        if er.async_get(self.hass).async_get_entity_id(domain, DOMAIN, unique_id):
            return  # registered: its entity id is kept, a suggestion is not read
        name = f"{self._record.formatted} {self.suggested_object_id}"
        self.entity_id = f"{domain}.{slugify(name)}"

    def _signal(self) -> str:
        """Return the signal whose changes the state follows."""
        return signal(self._entry_id, self._number)

    async def async_added_to_hass(self) -> None:
        """Follow the number's record."""
        await super().async_added_to_hass()
        if not self._follows_record:
            return
        self.async_on_remove(
            async_dispatcher_connect(self.hass, self._signal(), self._update)
        )
        # The record may have changed between creation and now.
        if (record := self._coordinator.numbers.get(self._number)) is not None:
            self._record = record

    @callback
    def _update(self, record: NumberRecord) -> None:
        self._record = record
        self.async_write_ha_state()


class AccountEntity(Entity):
    """An entity of the account, on its own device (the entry's title names it)."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, coordinator: CallerIdCoordinator) -> None:
        """Tie the entity to the entry."""
        self._coordinator = coordinator
        entry = coordinator.entry
        self._attr_unique_id = f"{entry.entry_id}_{self.translation_key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="seven.io",
            model="Account",
            entry_type=DeviceEntryType.SERVICE,
        )

    @property
    def available(self) -> bool:
        """Return whether seven.io told the balance (the key may lack the right)."""
        return self._coordinator.balance is not None

    async def async_added_to_hass(self) -> None:
        """Follow the balance."""
        await super().async_added_to_hass()
        signal_ = signal(self._coordinator.entry.entry_id, "balance")
        self.async_on_remove(
            async_dispatcher_connect(self.hass, signal_, self.async_write_ha_state)
        )


def recipient_device(recipient: ConfigSubentry) -> DeviceInfo:
    """Return the device of a recipient, under its account: its notify and Call entities."""
    return DeviceInfo(
        identifiers={(DOMAIN, recipient.subentry_id)},
        name=recipient.title,
        manufacturer="seven.io",
        model="Recipient",
        entry_type=DeviceEntryType.SERVICE,
    )


@callback
def async_add_recipient_entities(
    entry: CallerIdConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    kind: Callable[[CallerIdConfigEntry, ConfigSubentry], Entity],
) -> None:
    """Add an entity of `kind` for each of the account's recipients, on its subentry."""
    for recipient in entry.get_subentries_of_type(SUBENTRY_RECIPIENT):
        async_add_entities(
            [kind(entry, recipient)], config_subentry_id=recipient.subentry_id
        )
