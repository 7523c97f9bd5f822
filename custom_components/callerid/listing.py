"""Each number listed under its account: a config subentry, its device beneath it.

The storage file is the truth: a stored number without a row gets one at load, a row
without a stored number goes. A row the user deletes forgets its number.
"""

from types import MappingProxyType
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import (
    CONF_CALLER_ID,
    CONF_NUMBER,
    ISSUE_RECIPIENT_CALLER_ID,
    LOGGER,
    SUBENTRY_CALLER_ID,
    SUBENTRY_RECIPIENT,
)
from .helpers import async_issue, signal
from .phone import format_number, mask_number
from .storage import StorageWriteError
from .trigger import device_identifier

if TYPE_CHECKING:
    from .coordinator import CallerIdCoordinator


class Listing:
    """Where one entry's numbers are shown: their rows, their device pages' picks."""

    def __init__(self, owner: CallerIdCoordinator) -> None:
        """None listed yet; `load` reads the entry's subentries."""
        self._owner = owner
        # Each listed number's subentry id.
        self.rows: dict[str, str] = {}
        # Whom each number's Test call to select names (stored; the number if none).
        self.test_call_to: dict[str, str] = {}
        # The caller IDs recipients are called from (a change of recipients reloads).
        self.called_from: frozenset[str] = frozenset()

    def load(self) -> None:
        """List every stored number, and only those."""
        entry = self._owner.entry
        self.rows = {
            subentry.data[CONF_NUMBER]: subentry.subentry_id
            for subentry in entry.get_subentries_of_type(SUBENTRY_CALLER_ID)
        }
        for number in self.rows.keys() - self._owner.numbers.keys():
            self._owner.hass.config_entries.async_remove_subentry(
                entry, self.rows.pop(number)
            )
        for number in self._owner.numbers:
            self.add(number)
        self.called_from = frozenset(
            recipient.data[CONF_CALLER_ID]
            for recipient in entry.get_subentries_of_type(SUBENTRY_RECIPIENT)
        )
        self.check_recipients()

    def add(self, number: str) -> None:
        """List `number`; a device of an earlier version moves under its row."""
        if number in self.rows:
            return
        owner = self._owner
        subentry = ConfigSubentry(
            data=MappingProxyType({CONF_NUMBER: number}),
            subentry_type=SUBENTRY_CALLER_ID,
            title=format_number(number),
            # Unique among all subentries: a recipient's is its bare number.
            unique_id=f"{SUBENTRY_CALLER_ID} {number}",
        )
        owner.hass.config_entries.async_add_subentry(owner.entry, subentry)
        self.rows[number] = row = subentry.subentry_id
        devices = dr.async_get(owner.hass)
        entry_id = owner.entry.entry_id
        device = devices.async_get_device_by_identifier(
            device_identifier(entry_id, number), entry_id
        )
        if device is None:
            return
        # Its entities first: those left on no subentry would be deleted with the move.
        entities = er.async_get(owner.hass)
        for entity in er.async_entries_for_device(
            entities, device.id, include_disabled_entities=True
        ):
            entities.async_update_entity(entity.entity_id, config_subentry_id=row)
        devices.async_update_device(device.id, new_config_subentry_id=row)

    def remove(self, number: str) -> None:
        """Take the row of a number forgotten; its device and entities go with it."""
        owner = self._owner
        row = self.rows.pop(number, "")
        if row in owner.entry.subentries:
            owner.hass.config_entries.async_remove_subentry(owner.entry, row)
        # A dialog waiting on it stops waiting.
        async_dispatcher_send(owner.hass, signal(owner.entry.entry_id, "forgotten"))

    async def async_pick(self, number: str, to: str) -> None:
        """Have the number's Test call button call `to` from now on (written first)."""
        owner = self._owner
        async with owner.lock:
            picks = {**self.test_call_to, number: to}
            await owner.async_write(test_call_to=picks)
            self.test_call_to = picks

    def test_call_target(self, number: str) -> str:
        """Return whom the number's Test call calls: its pick, if still a recipient."""
        recipients = {
            str(recipient.data[CONF_NUMBER])
            for recipient in self._owner.entry.get_subentries_of_type(
                SUBENTRY_RECIPIENT
            )
        }
        picked = self.test_call_to.get(number, number)
        return picked if picked in recipients else number

    @callback
    def check_recipients(self, number: str | None = None) -> None:
        """Repair while a recipient's caller ID cannot call (of `number`'s, if named)."""
        if number is not None and number not in self.called_from:
            return
        owner = self._owner
        stranded = {
            recipient.title: recipient.data[CONF_CALLER_ID]
            for recipient in owner.entry.get_subentries_of_type(SUBENTRY_RECIPIENT)
            if (record := owner.numbers.get(recipient.data[CONF_CALLER_ID])) is None
            or not record.can_call
        }
        async_issue(
            owner.hass,
            ISSUE_RECIPIENT_CALLER_ID,
            present=bool(stranded),
            entry=owner.entry,
            names=", ".join(sorted(stranded)),
            numbers=", ".join(sorted(map(format_number, set(stranded.values())))),
        )

    def shown(self, number: str) -> str | None:
        """Return the row the number's entities go on, if it is still there."""
        row = self.rows.get(number)
        return row if row in self._owner.entry.subentries else None

    @callback
    def async_forget_deleted(self) -> None:
        """Forget each number whose row the user deleted, each as a change of its own."""
        for number, row in list(self.rows.items()):
            if row not in self._owner.entry.subentries and not self._owner.closed:
                del self.rows[number]
                self._owner.track(self._async_forget(number))

    async def _async_forget(self, number: str) -> None:
        try:
            await self._owner.async_forget(number)
        except StorageWriteError:
            # Still stored: it is listed again, as the next load would.
            LOGGER.error("Could not forget %s; it stays", mask_number(number))
            if (record := self._owner.numbers.get(number)) and not self._owner.closed:
                self.add(number)
                entry_id = self._owner.entry.entry_id
                async_dispatcher_send(self._owner.hass, signal(entry_id, "new"), record)
