"""What every bare entity has: a unique id, a name and, if asked, a device per index."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity


class BareEntity(Entity):
    """Entity `slot` of index `index`; slot 0 keeps the unique id bare sensors always had."""

    _attr_should_poll = False

    def __init__(self, entry: ConfigEntry, index: int, slot: int) -> None:
        """Name it by index and slot; give the index a device of its own if asked."""
        device_id = f"{entry.entry_id}_{index}"
        self._attr_unique_id = device_id if slot == 0 else f"{device_id}_{slot}"
        self._attr_name = f"bench {index}" if slot == 0 else f"bench {index} {slot}"
        if entry.data.get("devices", False):
            self._attr_device_info = DeviceInfo(
                identifiers={("callerid_bench", device_id)},
                name=f"bench device {index}",
            )
