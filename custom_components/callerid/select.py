"""Per number, on its device page: whom its Test call button calls."""

from homeassistant.components.select import SelectEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_NUMBER, SUBENTRY_RECIPIENT
from .coordinator import CallerIdConfigEntry, CallerIdCoordinator
from .entity import CallerIdEntity, async_add_number_entities
from .models import NumberRecord

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CallerIdConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the select of every stored number, and of each new one as it appears."""
    async_add_number_entities(entry, async_add_entities, (CallerIdTestCallTo,))


class CallerIdTestCallTo(CallerIdEntity, SelectEntity):
    """The number itself, or one of the account's recipients (by name)."""

    _attr_translation_key = "test_call_to"
    _attr_entity_category = EntityCategory.CONFIG
    _follows_record = False

    def __init__(self, coordinator: CallerIdCoordinator, record: NumberRecord) -> None:
        """Offer the number, then the recipients (a change of them reloads the entry)."""
        super().__init__(coordinator, record)
        self._targets = {record.formatted: record.number}
        for recipient in coordinator.entry.get_subentries_of_type(SUBENTRY_RECIPIENT):
            # A recipient named as the number reads the same: the number stays itself.
            self._targets.setdefault(recipient.title, recipient.data[CONF_NUMBER])
        self._attr_options = list(self._targets)
        # What was picked, kept in the entry's file; the number if that is gone.
        picked = coordinator.listing.test_call_target(record.number)
        self._attr_current_option = next(
            (name for name, to in self._targets.items() if to == picked),
            record.formatted,
        )

    async def async_select_option(self, option: str) -> None:
        """Call `option` on the next press of Test call, once that is on disk."""
        # Written and shown even if the caller hangs up; an unload waits for it.
        await self._coordinator.async_finish(self._async_pick(option))

    async def _async_pick(self, option: str) -> None:
        await self._coordinator.listing.async_pick(self._number, self._targets[option])
        self._attr_current_option = option
        self.async_write_ha_state()
