"""Per number, on its device page: validate it again, place a test call from it."""

from homeassistant.components.button import ButtonEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import TEST_CALL_MESSAGE
from .coordinator import CallerIdConfigEntry
from .entity import CallerIdEntity, async_add_number_entities
from .helpers import invalid
from .services import async_call_from

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CallerIdConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the buttons of every stored number, and of each new one as it appears."""
    async_add_number_entities(
        entry, async_add_entities, (CallerIdValidateButton, CallerIdTestCallButton)
    )


class CallerIdValidateButton(CallerIdEntity, ButtonEntity):
    """Validate the number again: seven.io calls it, the code is in the notifications."""

    _attr_translation_key = "validate_again"
    _follows_record = False

    async def async_press(self) -> None:
        """Start a validation, as the action does (its refusals are its errors)."""
        record = self._coordinator.numbers.get(self._number)
        started = await self._coordinator.validations.async_validate(self._number)
        # seven.io knew it validated and no call came: else the press shows nothing.
        if started["code"] is None and record is not None and record.validated:
            raise invalid("already_validated")


class CallerIdTestCallButton(CallerIdEntity, ButtonEntity):
    """Call whom the number's Test call to select names, from the number."""

    _attr_translation_key = "test_call"
    _follows_record = False

    async def async_press(self) -> None:
        """Place the call, counted as any call (the hourly limit, the Last call)."""
        to = self._coordinator.listing.test_call_target(self._number)
        await async_call_from(
            self._coordinator.entry, self._number, to, TEST_CALL_MESSAGE
        )
