"""Figures that tests measure, printed at the end of the run by conftest."""

from __future__ import annotations

FIGURES: dict[str, str] = {}


def report(name: str, value: str) -> None:
    """Record a figure for the end-of-run summary."""
    FIGURES[name] = value
