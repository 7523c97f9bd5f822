"""What every floor entity has: the shape of the integration's entities, bare.

A unique id, a translated name on its index's device (with `devices`), and the device
with the same fields as the integration's (name, manufacturer, model; a device, not a service); no
dispatcher, no record: its values are constants.
"""

from __future__ import annotations

from collections.abc import Iterable

from homeassistant.config_entries import ConfigEntry
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN


class BareEntity(Entity):
    """Entity `slot` of index `index`; slot 0 keeps the unique id bare sensors always had."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: ConfigEntry, index: int, slot: int) -> None:
        """Give it its unique id and, if asked, its index's device."""
        self._device_id = device_id = f"{entry.entry_id}_{index}"
        self.index = index
        self._attr_unique_id = device_id if slot == 0 else f"{device_id}_{slot}"
        self._devices = entry.data.get("devices", False)

    @property
    def device_info(self) -> DeviceInfo | None:
        """Return the index's device, with the integration's fields (asked for once)."""
        if not self._devices:
            return None
        return DeviceInfo(
            identifiers={(DOMAIN, self._device_id)},
            name=f"bench device {self.index}",
            manufacturer="callerid bench",
            model="Floor",
            entry_type=None,
        )


def enabled_kind(slot: int) -> type[BareEntity]:
    """Return the kind of enabled entity `slot` (1 on) of an index, as the integration's."""
    from .button import BareTestCallButton, BareValidateButton  # noqa: PLC0415
    from .select import BareTestCallTo  # noqa: PLC0415
    from .sensor import BareLastCallSensor, BareStatusSensor  # noqa: PLC0415

    kinds: tuple[type[BareEntity], ...] = (
        BareStatusSensor,
        BareLastCallSensor,
        BareValidateButton,
        BareTestCallButton,
        BareTestCallTo,
    )
    return kinds[(slot - 1) % len(kinds)]


def add_entities(
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entities: Iterable[BareEntity],
) -> None:
    """Add the entities at once; with `rows`, each index's on its row, as ours are."""
    if not entry.data.get("rows"):
        async_add_entities(entities)
        return
    rows = {int(str(row.unique_id)): row_id for row_id, row in entry.subentries.items()}
    by_index: dict[int, list[BareEntity]] = {}
    for entity in entities:
        by_index.setdefault(entity.index, []).append(entity)
    for index, found in by_index.items():
        async_add_entities(found, config_subentry_id=rows[index])


def bare_entities(entry: ConfigEntry, platform: type) -> list[BareEntity]:
    """Return each index's enabled entities whose kind is of `platform` (a base class)."""
    return [
        enabled_kind(slot)(entry, index, slot)
        for index in range(entry.data["count"])
        for slot in range(1, entry.data.get("entities", 1))
        if issubclass(enabled_kind(slot), platform)
    ]
