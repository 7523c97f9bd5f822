"""Runtime data of a config entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from homeassistant.config_entries import ConfigEntry

from .api import SevenClient
from .calls import CallStore
from .store import NumberStore


@dataclass(slots=True)
class RefusalLog:
    """Counts refused callbacks between two warnings."""

    count: int = 0
    last_warning: datetime | None = None


@dataclass(slots=True)
class CallerIdData:
    """What a loaded entry holds."""

    client: SevenClient
    store: NumberStore
    calls: CallStore
    refusals: RefusalLog = field(default_factory=RefusalLog)
    # Numbers with a validation request to seven.io under way.
    ringing: set[str] = field(default_factory=set)
    # Calls being placed right now, counted against the hourly limit.
    calls_in_flight: int = 0
    # Whether seven.io has a voice_status hook to this entry: calls report how they end.
    outcome_reported: bool = False
    # Stored numbers given no entities: Home Assistant's limit per entry had no room.
    hidden: frozenset[str] = frozenset()


type CallerIdConfigEntry = ConfigEntry[CallerIdData]
