"""Per number, on its device page: whom its Test call button calls."""

from homeassistant.components.select import SelectEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

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


class CallerIdTestCallTo(CallerIdEntity, SelectEntity, RestoreEntity):
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
        self._attr_current_option = record.formatted

    async def async_added_to_hass(self) -> None:
        """Pick what was picked before, if it is still there."""
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        if last is not None and last.state in self._targets:
            self._attr_current_option = last.state
        self._keep()

    async def async_will_remove_from_hass(self) -> None:
        """Forget the pick with the entity (the number forgotten, the entry unloaded)."""
        self._coordinator.listing.test_call_to.pop(self._number, None)

    async def async_select_option(self, option: str) -> None:
        """Call `option` on the next press of Test call."""
        self._attr_current_option = option
        self._keep()
        self.async_write_ha_state()

    def _keep(self) -> None:
        self._coordinator.listing.test_call_to[self._number] = self._targets[
            str(self.current_option)
        ]
