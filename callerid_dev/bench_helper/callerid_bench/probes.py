"""The bench's probes into the running process: actions that only report.

- cpu: CPU seconds of the event loop's thread and of the process; the garbage
  collector's passes so far, by generation ([count, seconds]);
- collect: a full pass of the garbage collector now; heap: the objects it tracks;
- timers: the live timers on the loop whose callbacks lead to a package's code or
  save a Store file of its (by key), and what every live timer calls;
- registry: a config entry's devices and registry entries per device;
- entry_states: the states of a config entry's entities, counted by domain and state;
- entity_shapes: a config entry's entities counted by what their shape is (domain,
  translation key and name, device class, category, enabled, the attributes of their state and
  the types of their values, whether the state is unknown) and its devices' fields;
- state_changes: counts state changes from a call with `start` to the next call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Coroutine
import gc
import time
from typing import Any

import probatio

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import (
    Event,
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.storage import Store

from .const import DOMAIN

type Probe = Callable[
    [HomeAssistant, ServiceCall], Coroutine[Any, Any, ServiceResponse]
]
# Where a timer's callback may lead: bound methods, partials, Home Assistant's jobs.
_INNER = ("__self__", "__func__", "func", "job", "target", "_run_action", "action")
ENTRY_SCHEMA = probatio.Schema({probatio.Required("config_entry_id"): str})


class GcPasses:
    """The garbage collector's passes so far, by generation: [count, seconds]."""

    def __init__(self) -> None:
        """Start counting."""
        self.passes: dict[str, list[float]] = {}
        self._started = 0.0
        gc.callbacks.append(self._collected)

    def _collected(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        counts = self.passes.setdefault(str(info["generation"]), [0, 0.0])
        counts[0] += 1
        counts[1] += time.perf_counter() - self._started


def callback_modules(obj: Any, depth: int = 0) -> set[str]:
    """Return the modules of the functions a timer callback leads to."""
    if obj is None or depth > 4:
        return set()
    found = {str(getattr(obj, "__module__", "") or "")}
    for attr in _INNER:
        if (inner := getattr(obj, attr, None)) is not None and inner is not obj:
            found |= callback_modules(inner, depth + 1)
    for cell in getattr(obj, "__closure__", None) or ():
        try:
            found |= callback_modules(cell.cell_contents, depth + 1)
        except ValueError:
            continue
    if hasattr(obj, "__dict__"):
        for value in list(vars(obj).values())[:20]:
            if callable(value):
                found |= callback_modules(value, depth + 1)
    return found


def store_key(handle: Any) -> str | None:
    """Return the key of the Store a timer writes for (a delayed save), if it does."""
    owner = getattr(getattr(handle, "_callback", None), "__self__", None)
    return owner.key if isinstance(owner, Store) else None


def describe(handle: Any) -> str:
    """Return what a timer calls, as module and qualified name (and Store key)."""
    target = getattr(handle, "_callback", None)
    target = getattr(target, "func", target)  # through a partial
    module = getattr(target, "__module__", None) or type(target).__module__
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    key = store_key(handle)
    return f"{module}.{name}" + (f" ({key})" if key else "")


def is_ours(handle: Any, module: str, storage: str) -> bool:
    """Return whether a timer leads to `module`'s code or saves a Store file of it."""
    if (key := store_key(handle)) is not None and key.startswith(storage):
        return True
    return any(
        found == module or found.startswith(f"{module}.")
        for found in callback_modules(getattr(handle, "_callback", None))
    )


async def _timers(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    module, storage = call.data["module"], call.data["storage"]
    scheduled = [h for h in getattr(hass.loop, "_scheduled", []) if not h.cancelled()]
    found: list[Any] = [
        describe(handle) for handle in scheduled if is_ours(handle, module, storage)
    ]
    every: list[Any] = sorted(describe(handle) for handle in scheduled)
    return {"timers": found, "scheduled_total": len(scheduled), "scheduled": every}


def _per_number(
    hass: HomeAssistant, entry_id: str
) -> tuple[list[er.RegistryEntry], list[dr.DeviceEntry]]:
    """Return an entry's entities and devices, but the account's own device and its.

    The account's device (its balance) is one per entry, not per number: no floor.
    """
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)
    account = {d.id for d in devices if ("callerid", entry_id) in d.identifiers}
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry_id)
    return (
        [e for e in entities if e.device_id not in account],
        [d for d in devices if d.id not in account],
    )


async def _registry(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    # {"entries,enabled": devices with that many} besides the totals.
    entry_id = call.data["config_entry_id"]
    entities, devices = _per_number(hass, entry_id)
    per_device: dict[str | None, list[int]] = {}
    for entity in entities:
        counts = per_device.setdefault(entity.device_id, [0, 0])
        counts[0] += 1
        counts[1] += entity.disabled_by is None
    shapes = Counter(f"{total},{enabled}" for total, enabled in per_device.values())
    return {
        "devices": len(devices),
        "entities": len(entities),
        "enabled": sum(entity.disabled_by is None for entity in entities),
        "shapes": dict(shapes),
    }


async def _entry_states(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    counts: dict[str, Counter[str]] = {}
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(
        registry, call.data["config_entry_id"]
    ):
        if (state := hass.states.get(entity.entity_id)) is not None:
            counts.setdefault(entity.domain, Counter())[state.state] += 1
    return {domain: dict(by_state) for domain, by_state in counts.items()}


def _entity_shape(hass: HomeAssistant, entity: er.RegistryEntry) -> str:
    # As text: the registry has enums where it set them, text where it loaded them.
    state = hass.states.get(entity.entity_id)
    attributes = (
        sorted(
            (str(key), type(value).__name__) for key, value in state.attributes.items()
        )
        if state is not None
        else None
    )
    return repr(
        (
            entity.domain,
            entity.translation_key,
            entity.has_entity_name,
            entity.original_name,  # the translated name
            _text(entity.original_device_class),
            _text(entity.entity_category),
            entity.disabled_by is None,
            None if state is None else state.state == "unknown",
            attributes,
        )
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def _entity_shapes(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    entities, devices = _per_number(hass, call.data["config_entry_id"])
    return {
        "entities": dict(Counter(_entity_shape(hass, entity) for entity in entities)),
        "devices": dict(
            Counter(
                repr(
                    (
                        device.name is not None,
                        device.manufacturer is not None,
                        device.model is not None,
                        _text(device.entry_type),
                    )
                )
                for device in devices
            )
        ),
    }


async def _collect(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    # What comes next starts from the same heap, whichever way allocations went.
    started = time.perf_counter()
    gc.collect()
    return {"seconds": time.perf_counter() - started}


async def _heap(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    return {"gc_objects": len(gc.get_objects())}


def _register(hass: HomeAssistant, name: str, probe: Probe, schema: Any = None) -> None:
    async def handle(call: ServiceCall) -> ServiceResponse:
        return await probe(hass, call)

    hass.services.async_register(
        DOMAIN, name, handle, schema=schema, supports_response=SupportsResponse.ONLY
    )


def _register_counters(hass: HomeAssistant) -> None:
    """Register the probes that keep counting between calls: cpu and state_changes."""
    collector = GcPasses()
    changes: list[Event[Any]] = []
    stop: list[Callable[[], None]] = []

    async def cpu(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
        passes: dict[str, Any] = {g: list(c) for g, c in collector.passes.items()}
        return {
            "loop": time.thread_time(),
            "process": time.process_time(),
            "gc": passes,
        }

    @callback
    def changed(event: Event[Any]) -> None:
        changes.append(event)

    async def state_changes(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
        while stop:
            stop.pop()()
        entities = {event.data["entity_id"] for event in changes}
        result: dict[str, Any] = {"changes": len(changes), "entities": len(entities)}
        changes.clear()
        if call.data.get("start"):
            stop.append(hass.bus.async_listen(EVENT_STATE_CHANGED, changed))
        return result

    _register(hass, "cpu", cpu)
    _register(
        hass,
        "state_changes",
        state_changes,
        probatio.Schema({probatio.Optional("start", default=False): bool}),
    )


def async_register_probes(hass: HomeAssistant) -> None:
    """Register every probe."""
    _register_counters(hass)
    _register(hass, "collect", _collect)
    _register(hass, "heap", _heap)
    _register(hass, "registry", _registry, ENTRY_SCHEMA)
    _register(hass, "entry_states", _entry_states, ENTRY_SCHEMA)
    _register(hass, "entity_shapes", _entity_shapes, ENTRY_SCHEMA)
    _register(
        hass,
        "timers",
        _timers,
        probatio.Schema(
            {probatio.Required("module"): str, probatio.Required("storage"): str}
        ),
    )
