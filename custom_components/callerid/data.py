"""Runtime data of a config entry."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .api import SevenClient
from .store import NumberStore


@dataclass(slots=True)
class CallerIdData:
    """What a loaded entry holds."""

    client: SevenClient
    store: NumberStore


type CallerIdConfigEntry = ConfigEntry[CallerIdData]
