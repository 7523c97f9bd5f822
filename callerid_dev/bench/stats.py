"""Medians, spreads and the alternating order every scenario measures in."""

from __future__ import annotations

from collections.abc import Sequence
import statistics


def spread(values: Sequence[float], scale: float = 1.0) -> dict[str, float]:
    """Return a sample's median, min and max (times `scale`) and its relative spread."""
    median = statistics.median(values)
    return {
        "median": median * scale,
        "min": min(values) * scale,
        "max": max(values) * scale,
        "spread": (max(values) - min(values)) / median if median else 0.0,
    }


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the value below which `fraction` of the sample lies."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ratio(ours: Sequence[float], floor: Sequence[float]) -> float:
    """Return the ratio of the medians: ours against its floor."""
    return statistics.median(ours) / statistics.median(floor)


def turned[T](kinds: Sequence[T], round_index: int) -> list[T]:
    """Return `kinds` in this round's order: the order turns by one each round.

    Whatever one kind leaves behind (a write still landing, a pass of the garbage
    collector coming due) then falls on each kind in turn, not always on the next one.
    """
    turn = round_index % len(kinds)
    return [*kinds[turn:], *kinds[:turn]]
