"""The keys of bench/results.json, and the README's table made from a results file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Each key's scenario in the details and the field of it that the key is.
SOURCES = (
    ("callback_loop_cpu_ratio_{small}", "callback_cpu", "ratio"),
    ("callback_latency_ratio_{large}", "callback_latency", "ratio"),
    ("validate_latency_ratio_rtt{rtt}", "validate", "ratio"),
    ("setup_ratio_{small}", "setup_small", "ratio"),
    ("setup_ratio_{large}", "setup_large", "ratio"),
    ("memory_ratio_{large}", "memory", "ratio"),
    ("setup_blackholed_ratio", "blackholed", "ratio"),
    ("idle_timers", "idle", "timers"),
)
TARGETS = {
    "callback_cpu": "<= 1.3",
    "callback_latency": "<= 1.5",
    "validate": "<= 1.1",
    "setup_small": "<= 1.1",
    "setup_large": "<= 1.1",
    "memory": "<= 1.1",
    "blackholed": "<= 1.05",
    "blocking_calls": "0",
    "idle": "0",
}


def names(details: dict[str, Any]) -> dict[str, str]:
    """Return the values that key names are made of: the counts, the gateway's delay."""
    delay = details.get("validate", {}).get("gateway_delay_ms", 50)
    counts = details["counts"]
    return {"small": counts["small"], "large": counts["large"], "rtt": f"{delay:.0f}"}


def keys(details: dict[str, Any]) -> dict[str, Any]:
    """Return the top-level keys for what was measured (a scenario that failed has none)."""
    found: dict[str, Any] = {}
    for pattern, scenario, field in SOURCES:
        if scenario in details:
            found[pattern.format(**names(details))] = details[scenario][field]
    blocking = [b["ours"] for b in details.get("blocking_calls", {}).values() if b]
    if blocking:
        found["blocking_calls"] = sum(blocking)
    return dict(sorted(found.items(), key=lambda item: order(item[0])))


def order(key: str) -> int:
    """Return where a key goes: in the order of the issue's list."""
    prefixes = [pattern.split("{")[0] for pattern, _, _ in SOURCES]
    prefixes.insert(len(prefixes) - 1, "blocking_calls")
    return next(i for i, prefix in enumerate(prefixes) if key.startswith(prefix))


def key_of(details: dict[str, Any], scenario: str) -> str:
    """Return the top-level key a scenario gives, as code."""
    pattern = next(p for p, name, _ in SOURCES if name == scenario)
    return f"`{pattern.format(**names(details))}`"


def ms(value: float) -> str:
    """Return a duration in ms, as precise as it needs."""
    return f"{value:.3f} ms" if value < 1 else f"{value:.1f} ms"


def seconds(value: float) -> str:
    """Return a duration, in ms below a second."""
    return ms(value * 1000) if value < 1 else f"{value:.2f} s"


def shape(found: dict[str, int]) -> str:
    """Return a floor's shape in words."""
    return (
        f"{found['devices']:,} devices, each a row with {found['entities']} "
        f"entities, {found['enabled']} enabled"
    )


def kib(found: dict[str, Any]) -> str:
    """Return the size of the file a setup floor loaded (older results have none)."""
    size = found.get("storage_bytes")
    return "" if size is None else f", {size / 1024:,.0f} KiB"


def callbacks(d: dict[str, Any]) -> list[list[str]]:
    """Return the rows of the callback scenarios."""
    rows = []
    if cpu := d.get("callback_cpu"):
        per = cpu["loop_cpu_ms_per_callback"]
        rows.append(
            [
                key_of(d, "callback_cpu"),
                f"event loop CPU per valid callback, {cpu['numbers']} numbers",
                ms(per["ours"]["median"]),
                f"{ms(per['floor']['median'])} (a webhook saving the same file, "
                f"then setting the same {cpu['floor_states_per_callback']} states "
                "and firing an event)",
                f"{cpu['ratio']:.2f}",
                TARGETS["callback_cpu"],
            ]
        )
    if latency := d.get("callback_latency"):
        median = latency["latency_ms"]
        kib = latency["file_bytes"]["floor"] / 1024
        rows.append(
            [
                key_of(d, "callback_latency"),
                f"callback latency (median), {latency['numbers']:,} numbers",
                ms(median["ours"]["median"]),
                f"{ms(median['floor']['median'])} (Store(atomic_writes=True)"
                f".async_save of the same {kib:,.0f} KiB file)",
                f"{latency['ratio']:.2f}",
                TARGETS["callback_latency"],
            ]
        )
    return rows


def validations(d: dict[str, Any]) -> list[list[str]]:
    """Return the rows of callerid.validate, with the gateway slow and at once."""
    rows = []
    for name, target in (("validate", TARGETS["validate"]), ("validate_loopback", "")):
        if found := d.get(name):
            delay = found["gateway_delay_ms"]
            latency = found["latency_ms"]
            rows.append(
                [
                    key_of(d, name) if target else "",
                    "`callerid.validate`, the gateway answering "
                    + (f"after {delay:.0f} ms" if delay else "at once (loopback)"),
                    ms(latency["ours"]["median"]),
                    f"{ms(latency['bare']['median'])} (the same single request)",
                    f"{found['ratio']:.2f}",
                    target,
                ]
            )
    return rows


def setups(d: dict[str, Any]) -> list[list[str]]:
    """Return the rows of entry setup."""
    rows = []
    for name in ("setup_small", "setup_large"):
        if found := d.get(name):
            reloads = found["reload_s"]
            rows.append(
                [
                    key_of(d, name),
                    f"entry setup (reload), {found['numbers']:,} numbers",
                    seconds(reloads["ours"]["median"]),
                    f"{seconds(reloads['floor']['median'])} (entities of the same "
                    f"shape with constant values, {shape(found['shape'])}, and a "
                    f"Store load of the entry's own file{kib(found)})",
                    f"{found['ratio']:.2f}",
                    TARGETS[name],
                ]
            )
            if (bare := reloads.get("floor_without_rows")) is not None:
                rows.append(
                    [
                        "",
                        "the same, against a floor without rows (devices only)",
                        seconds(reloads["ours"]["median"]),
                        seconds(bare["median"]),
                        f"{found['ratio_against_floor_without_rows']:.2f}",
                        "",
                    ]
                )
    return rows


def resources(d: dict[str, Any]) -> list[list[str]]:
    """Return the rows of memory and of the black-holed gateway."""
    rows = []
    if found := d.get("memory"):
        increment = found["increment_mib"]
        rows.append(
            [
                key_of(d, "memory"),
                f"resident memory, {found['numbers']:,} numbers",
                f"+{increment['ours']['median']:.0f} MiB",
                f"+{increment['floor']['median']:.0f} MiB (entities of the same "
                "shape, no storage file)",
                f"{found['ratio']:.2f}",
                TARGETS["memory"],
            ]
        )
    if found := d.get("blackholed"):
        setup = found["setup_s"]
        rows.append(
            [
                key_of(d, "blackholed"),
                f"entry setup (reload), {found['numbers']} numbers, gateway black-holed",
                seconds(setup["blackholed"]["median"]),
                f"{seconds(setup['answering']['median'])} (the gateway answering)",
                f"{found['ratio']:.2f}",
                TARGETS["blackholed"],
            ]
        )
    return rows


def counts(results: dict[str, Any]) -> list[list[str]]:
    """Return the rows of what must be zero."""
    rows = []
    if "blocking_calls" in results:
        rows.append(
            [
                "`blocking_calls`",
                "blocking calls reported by Home Assistant",
                str(results["blocking_calls"]),
                "",
                "",
                TARGETS["blocking_calls"],
            ]
        )
    if idle := results["details"].get("idle"):
        pending = idle["timers_while_a_code_was_pending"]
        rows.append(
            [
                key_of(results["details"], "idle"),
                f"timers of ours while idle ({pending} while a code was pending)",
                str(idle["timers"]),
                "",
                "",
                TARGETS["idle"],
            ]
        )
    return rows


def table(results: dict[str, Any]) -> str:
    """Return the README's markdown table for a results file."""
    details = results["details"]
    parts: list[Callable[[dict[str, Any]], list[list[str]]]] = [
        callbacks,
        validations,
        setups,
        resources,
    ]
    rows = [row for part in parts for row in part(details)] + counts(results)
    lines = [
        "| key | measure | callerid | floor | ratio | target |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    machine = details["machine"]
    lines.append(
        f"\n{'Quick run' if details['quick'] else 'Full run'} on {machine['cpus']} "
        f"CPUs, Python {machine['python']}, Home Assistant {machine['home_assistant']}"
        f" (load average {machine['load_average_at_start'][0]:.2f} at the start, "
        f"{machine['load_average_at_end'][0]:.2f} at the end), {details['seconds']:.0f} s."
    )
    return "\n".join(lines)
