"""Tests of the journal's failure paths that the stores' tests do not reach."""

from __future__ import annotations

import asyncio
from pathlib import Path
from unittest.mock import patch

import pytest

from custom_components.callerid import journal as journal_module
from custom_components.callerid.journal import Journal, JournalWriteError
from homeassistant.core import HomeAssistant


async def test_a_failing_apply_spares_the_others(
    hass: HomeAssistant, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One change's apply raising is logged; the batch is written, the rest applied."""
    journal = Journal(hass, str(tmp_path / "j.journal"))
    applied: list[int] = []

    def boom() -> None:
        raise RuntimeError("boom")

    await asyncio.gather(
        journal.async_append({"a": 1}, boom),
        journal.async_append({"b": 2}, lambda: applied.append(2)),
    )
    assert applied == [2]
    assert "Error applying a change written to" in caplog.text
    assert await journal.async_read() == [{"a": 1}, {"b": 2}]
    await journal.async_close()


@pytest.mark.parametrize("failing", ["_cut_torn_tail", "fstat"])
async def test_a_file_that_cannot_be_opened_or_measured(
    hass: HomeAssistant, tmp_path: Path, failing: str
) -> None:
    """The write fails cleanly (no descriptor left open); the next one succeeds."""
    journal = Journal(hass, str(tmp_path / "j.journal"))
    closed: list[int] = []
    real_close = journal_module.os.close

    def close(fd: int) -> None:
        closed.append(fd)
        real_close(fd)

    target = (
        "custom_components.callerid.journal._cut_torn_tail"
        if failing == "_cut_torn_tail"
        else "custom_components.callerid.journal.os.fstat"
    )
    with (
        patch(target, side_effect=OSError("no")),
        patch("custom_components.callerid.journal.os.close", close),
        pytest.raises(JournalWriteError),
    ):
        await journal.async_append({"a": 1})
    assert len(closed) == 1
    await journal.async_append({"b": 2})
    assert await journal.async_read() == [{"b": 2}]
    await journal.async_close()
