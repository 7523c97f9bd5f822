"""Tests of how numbers reach the disk: the storage file and the journal of changes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import contextlib
from datetime import timedelta
import json
import os
from pathlib import Path
import resource
import shutil
import signal
import threading
import time
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.callerid import (
    journal as journal_module,
    services as services_module,
)
from custom_components.callerid.const import EVENT_VALIDATION_COMPLETED
from custom_components.callerid.journal import Journal, JournalWriteError
from custom_components.callerid.store import hash_token
from homeassistant.components import persistent_notification, webhook
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.aiohttp import MockRequest
from homeassistant.util.file import WriteError

from .conftest import (
    ALREADY,
    ENTITY_ID,
    NUMBER,
    SEVEN_OK,
    STATUS_ID,
    Persisted,
    answer_validation,
    call_validate,
    callback_path,
    start_validation,
    validate_calls,
)

SECOND = "+4930123456"
# NUMBER validated, stored as versions before `formatted` wrote it.
VALIDATED = {
    "number": NUMBER,
    "status": "validated",
    "requested_at": "2026-11-27T12:00:00+00:00",
    "completed_at": "2026-11-27T12:01:00+00:00",
    "voice": True,
    "caller_id": 7,
    "error": None,
    "token_hash": None,
}


class _Disk:
    """The journal's writes, failing (disk full) while `failing` is set."""

    def __init__(self) -> None:
        self.failing = False
        self._append = journal_module._append

    def append(self, path: str, fd: int | None, data: bytes) -> int:
        if self.failing:
            if fd is not None:
                os.close(fd)  # as _append does when a write fails
            raise OSError("disk full")
        return int(self._append(path, fd, data))


async def test_changes_are_journalled_then_folded_on_load(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    persisted: Persisted,
) -> None:
    """A change is one journal line; loading folds the journal into the storage file."""
    path = await start_validation(hass, aioclient_mock)
    assert persisted.key not in hass_storage
    assert persisted.journal_lines() == 1
    assert persisted.statuses() == {NUMBER: "pending"}

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    assert not persisted.journal.exists()
    numbers = hass_storage[persisted.key]["data"]["numbers"]
    assert [number["status"] for number in numbers] == ["pending"]

    # The folded pending validation still completes, and the change is journalled again.
    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    assert hass.states.get(ENTITY_ID).state == "on"
    assert persisted.journal_lines() == 1
    assert persisted.statuses() == {NUMBER: "validated"}


async def test_long_journal_is_folded(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_storage: dict[str, Any],
    persisted: Persisted,
) -> None:
    """Once the journal has more lines than its limit and the numbers, it is folded."""
    hass.config_entries.async_update_entry(
        init_integration, options={"code_lifetime": 15, "cooldown": 0}
    )
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    with patch("custom_components.callerid.journal.JOURNAL_FOLD_MIN_LINES", 3):
        for code in range(100000, 100010):
            await start_validation(hass, aioclient_mock, (NUMBER, SECOND)[code % 2])
            assert persisted.journal_lines() <= 3
    # The last fold took in every change before it; the journal holds the rest.
    assert len(hass_storage[persisted.key]["data"]["numbers"]) == 2
    assert persisted.statuses() == {NUMBER: "pending", SECOND: "pending"}
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    assert persisted.statuses() == {NUMBER: "pending", SECOND: "pending"}


async def test_torn_last_line_is_dropped(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    persisted: Persisted,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A line cut short by a crash was never acknowledged: it is dropped, with a warning."""
    persisted.journal.parent.mkdir(parents=True, exist_ok=True)
    persisted.journal.write_text(json.dumps(VALIDATED) + '\n{"number": "+4930')
    mock_config_entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(ENTITY_ID).state == "on"
    assert persisted.statuses() == {NUMBER: "validated"}
    assert "Dropping an incomplete last line" in caplog.text


async def test_torn_last_line_is_cut_before_the_next_write(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    gateway: AiohttpClientMocker,
    persisted: Persisted,
) -> None:
    """A torn line that is all there is does not get the next change glued onto it."""
    persisted.journal.parent.mkdir(parents=True, exist_ok=True)
    persisted.journal.write_text('{"number": "+4930')
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    await start_validation(hass, aioclient_mock)
    assert persisted.journal_lines() == 1
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert persisted.statuses() == {NUMBER: "pending"}


@pytest.mark.parametrize(
    "content",
    [
        b'{"number": "+4917612345678"\n{"forget": "+4917612345678"}\n',
        b'{"number": "+4917612345678", "status": "whatever"}\n',
        b"[1, 2]\n",
        json.dumps(VALIDATED | {"number": 4917612345678}).encode() + b"\n",
        json.dumps(VALIDATED | {"completed_at": "2026-11-27T12:01:00"}).encode()
        + b"\n",
        json.dumps(VALIDATED | {"token_hash": "zz"}).encode() + b"\n",
        b'{"forget": 5}\n',
    ],
    ids=[
        "not JSON",
        "not a record",
        "not an object",
        "number not a string",
        "naive time",
        "bad token hash",
        "forget not a number",
    ],
)
async def test_unreadable_journal_fails_setup_and_stays(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    persisted: Persisted,
    content: bytes,
) -> None:
    """A journal damaged other than at its end stops setup and is left as it was."""
    persisted.journal.parent.mkdir(parents=True, exist_ok=True)
    persisted.journal.write_bytes(content)
    mock_config_entry.add_to_hass(hass)

    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert str(persisted.journal) in (mock_config_entry.reason or "")
    assert persisted.journal.read_bytes() == content


async def test_journal_that_is_a_folder_fails_setup(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    persisted: Persisted,
) -> None:
    """A folder where the journal should be gives the translated error, not a traceback."""
    persisted.journal.mkdir(parents=True)
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert "cannot be read" in (mock_config_entry.reason or "")
    assert persisted.journal.is_dir()


async def test_failed_write_changes_nothing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A change that cannot be written raises a translated error and is not applied."""
    # A directory where the journal should be: every write to it fails.
    persisted.journal.mkdir(parents=True)
    answer_validation(aioclient_mock, json={"success": True, "code": "123456"})
    with pytest.raises(HomeAssistantError) as raised:
        await call_validate(hass, number=NUMBER)
    assert raised.value.translation_key == "storage_write_failed"
    assert str(persisted.journal) in str(raised.value)
    assert "Could not write" in caplog.text
    # The phone rings all the same, so its code is shown.
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert any("123456" in n["message"] for n in notifications.values())
    # Nothing was saved, so nothing changed: no number, no cooldown.
    assert hass.states.get(ENTITY_ID) is None
    assert init_integration.runtime_data.store.get(NUMBER) is None

    shutil.rmtree(persisted.journal)
    await start_validation(hass, aioclient_mock)
    assert persisted.statuses() == {NUMBER: "pending"}


async def test_failed_callback_write_is_retried(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    persisted: Persisted,
) -> None:
    """A callback that cannot be saved answers 500, changes nothing, and its retry lands."""
    path = await start_validation(hass, aioclient_mock)
    client = await hass_client_no_auth()

    disk = _Disk()
    disk.failing = True
    with patch("custom_components.callerid.journal._append", disk.append):
        assert (await client.get(path.update_query(SEVEN_OK))).status == 500
    assert hass.states.get(STATUS_ID).state == "pending"
    assert persisted.statuses() == {NUMBER: "pending"}

    # seven.io's retry, once the disk takes writes again.
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    assert hass.states.get(ENTITY_ID).state == "on"
    assert persisted.statuses() == {NUMBER: "validated"}
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    assert hass.states.get(ENTITY_ID).state == "on"


async def test_cancelled_callback_leaves_no_half_change(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
) -> None:
    """A client that hangs up mid-write: the change is applied whole, no descriptor leaks."""
    path = await start_validation(hass, aioclient_mock)
    started, release = threading.Event(), threading.Event()
    real_append = journal_module._append

    def slow_append(*args: Any) -> int:
        started.set()
        release.wait(5)
        return real_append(*args)

    request = MockRequest(
        b"",
        mock_source="test",
        query_string=path.update_query(SEVEN_OK).query_string,
    )
    with patch("custom_components.callerid.journal._append", slow_append):
        task = hass.async_create_task(
            webhook.async_handle_webhook(hass, path.parts[-1], request)  # type: ignore[arg-type]
        )
        await hass.async_add_executor_job(started.wait, 5)
        task.cancel()
        release.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await hass.async_block_till_done()
    # Memory and disk agree.
    assert persisted.statuses() == {NUMBER: "validated"}
    assert hass.states.get(ENTITY_ID).state == "on"
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert _open_journals(persisted) == []


async def test_changes_are_synced_to_disk(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
) -> None:
    """The action returns once its change is fsynced; the fold writes atomically."""
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    with patch("os.fsync", fsync):
        await start_validation(hass, aioclient_mock)
    assert os.path.realpath(persisted.journal) in synced
    assert init_integration.runtime_data.store._store._atomic_writes


async def test_failed_fold_keeps_journal(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """If the storage file cannot be written, the journal stays and nothing is lost."""
    await start_validation(hass, aioclient_mock)
    with patch.object(Store, "_async_write_data", side_effect=WriteError("disk full")):
        assert await hass.config_entries.async_reload(init_integration.entry_id)
    assert "keeping it" in caplog.text
    assert persisted.journal.exists()
    assert persisted.statuses() == {NUMBER: "pending"}

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    assert not persisted.journal.exists()
    assert persisted.statuses() == {NUMBER: "pending"}
    assert hass.states.get(STATUS_ID).state == "pending"


async def test_file_without_formatted_numbers_loads(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    hass_storage: dict[str, Any],
    device_registry: dr.DeviceRegistry,
) -> None:
    """Files written before numbers were kept formatted still name their devices."""
    hass_storage[f"callerid.{mock_config_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"callerid.{mock_config_entry.entry_id}",
        "data": {"numbers": [VALIDATED]},
    }
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(ENTITY_ID).state == "on"
    device = device_registry.async_get_device_by_identifier(
        ("callerid", f"{mock_config_entry.entry_id}_{NUMBER}"),
        mock_config_entry.entry_id,
    )
    assert device is not None
    assert device.name == "+49 176 12345678"


def _open_journals(persisted: Persisted) -> list[str]:
    """Return this process's file descriptors open on the journal."""
    fds = Path("/proc/self/fd")
    return [
        fd.name
        for fd in fds.iterdir()
        if os.path.realpath(fd) == os.path.realpath(persisted.journal)
    ]


async def test_journal_is_closed_on_unload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
) -> None:
    """The journal stays open while the entry runs and is closed when it unloads."""
    await start_validation(hass, aioclient_mock)
    await start_validation(hass, aioclient_mock, SECOND)
    assert len(_open_journals(persisted)) == 1
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert _open_journals(persisted) == []
    assert persisted.statuses() == {NUMBER: "pending", SECOND: "pending"}


@contextlib.contextmanager
def _file_size_limit(limit: int) -> Iterator[None]:
    """Let no file of this process grow beyond `limit` bytes, as a full disk would."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


async def test_write_cut_short_leaves_no_torn_line(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
) -> None:
    """A write that only gets half a line onto the disk takes that half back."""
    await start_validation(hass, aioclient_mock)
    before = persisted.journal.read_bytes()
    answer_validation(aioclient_mock, json={"success": True, "code": "654321"})
    # Room for a few more bytes, not for the next line.
    with (
        _file_size_limit(len(before) + 10),
        pytest.raises(HomeAssistantError) as raised,
    ):
        await call_validate(hass, number=SECOND)
    assert raised.value.translation_key == "storage_write_failed"
    assert persisted.journal.read_bytes() == before

    hass.config_entries.async_update_entry(
        init_integration, options={"code_lifetime": 15, "cooldown": 0}
    )
    await hass.async_block_till_done()
    await start_validation(hass, aioclient_mock, NUMBER)
    # The change that could not be written was not applied, and is not written later.
    assert persisted.statuses() == {NUMBER: "pending"}
    assert init_integration.runtime_data.store.get(SECOND) is None


async def test_concurrent_changes_fold_once(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    persisted: Persisted,
) -> None:
    """Callbacks that all find the journal too long fold it once, and lose nothing."""
    numbers = [f"+49151{i:08d}" for i in range(20)]
    paths = {
        number: await start_validation(hass, aioclient_mock, number)
        for number in numbers
    }
    client = await hass_client_no_auth()
    saves = 0
    real_save = Store.async_save

    async def counting_save(store: Store[Any], data: Any) -> None:
        nonlocal saves
        saves += 1
        await real_save(store, data)

    with (
        patch("custom_components.callerid.journal.JOURNAL_FOLD_MIN_LINES", 25),
        patch.object(Store, "async_save", counting_save),
    ):
        statuses = await asyncio.gather(
            *(
                client.get(
                    path.update_query(SEVEN_OK | {"sender": number.removeprefix("+")})
                )
                for number, path in paths.items()
            )
        )
    assert [response.status for response in statuses] == [200] * len(numbers)
    assert saves == 1
    assert persisted.statuses() == dict.fromkeys(numbers, "validated")
    assert len(hass_storage[persisted.key]["data"]["numbers"]) == len(numbers)


async def test_change_after_unload_is_written(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
) -> None:
    """A change that lands after the entry unloaded still reaches the disk, file closed after."""
    await start_validation(hass, aioclient_mock)
    store = init_integration.runtime_data.store
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await store.async_forget(NUMBER)
    assert persisted.numbers() == {}
    assert _open_journals(persisted) == []


async def test_no_fold_while_stopping(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_storage: dict[str, Any],
    persisted: Persisted,
) -> None:
    """While Home Assistant stops, changes stay in the journal; the next start folds it."""
    await start_validation(hass, aioclient_mock, NUMBER)
    await start_validation(hass, aioclient_mock, SECOND)
    store = init_integration.runtime_data.store
    hass.set_state(CoreState.stopping)
    try:
        with patch("custom_components.callerid.journal.JOURNAL_FOLD_MIN_LINES", 1):
            await store.async_forget(NUMBER)
        assert persisted.key not in hass_storage
        assert persisted.journal_lines() == 3
    finally:
        hass.set_state(CoreState.running)
    assert persisted.statuses() == {SECOND: "pending"}
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    assert persisted.journal_lines() == 0
    assert persisted.statuses() == {SECOND: "pending"}


async def test_entry_queued_while_the_journal_closes_is_written(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """A change that arrives while a late write closes the file is written, not failed."""
    journal = Journal(hass, str(tmp_path / "journal"))
    await journal.async_close()  # the entry unloaded: each write closes the file after
    applied: list[str] = []
    late: list[asyncio.Task[None]] = []
    close = journal._async_close

    async def close_and_meanwhile_append() -> None:
        if not late:
            late.append(
                hass.async_create_task(
                    journal.async_append({"b": 2}, lambda: applied.append("b"))
                )
            )
        await close()

    with patch.object(journal, "_async_close", close_and_meanwhile_append):
        await journal.async_append({"a": 1}, lambda: applied.append("a"))
        await late[0]
    assert applied == ["a", "b"]
    assert await journal.async_read() == [{"a": 1}, {"b": 2}]


async def test_cancelled_journal_write_closes_its_descriptor(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Cancelled mid-write (Home Assistant stops): the writer fails, the file is closed."""
    path = tmp_path / "journal"
    journal = Journal(hass, str(path))
    started, release = threading.Event(), threading.Event()
    real_append = journal_module._append

    def slow_append(*args: Any) -> int:
        started.set()
        release.wait(5)
        return real_append(*args)

    with patch("custom_components.callerid.journal._append", slow_append):
        append = hass.async_create_task(journal.async_append({"a": 1}, lambda: None))
        await hass.async_add_executor_job(started.wait, 5)
        assert journal._writer is not None
        journal._writer.cancel()
        with pytest.raises(JournalWriteError):
            await append
        release.set()
        await hass.async_block_till_done()
    await hass.async_add_executor_job(time.sleep, 0.1)  # the executor job's callback
    await asyncio.sleep(0)
    open_on_it = [
        fd
        for fd in Path("/proc/self/fd").iterdir()
        if os.path.realpath(fd) == os.path.realpath(path)
    ]
    assert open_on_it == []


async def test_journal_append_without_callback(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """A writer that has nothing to apply just waits until its entry is on disk."""
    journal = Journal(hass, str(tmp_path / "journal"))
    await journal.async_append({"a": 1})
    assert await journal.async_read() == [{"a": 1}]
    await journal.async_close()


def _asked(
    hass: HomeAssistant,
    persisted: Persisted,
    seen: list[tuple[dict[str, str], str | None]],
    *,
    asked: asyncio.Event | None = None,
    release: asyncio.Event | None = None,
    fail: list[bool] | None = None,
    answer_json: dict[str, Any] | None = None,
    disk: _Disk | None = None,
) -> Any:
    """Answer validate_for_voice once the pending validation is on disk; note what was seen.

    Each request fails (503) if the next of `fail` says so; otherwise it answers
    `answer_json` (a code by default). With `disk`, the disk fails from then on.
    """

    async def answer(method: str, url: Any, data: Any) -> AiohttpClientMockResponse:
        # The write runs beside the request: give it a moment to land. (In a thread:
        # asyncio.sleep would wait for a frozen clock.)
        for _ in range(200):
            if persisted.statuses().get(NUMBER) == "pending":
                break
            await asyncio.to_thread(time.sleep, 0.005)
        seen.append((persisted.statuses(), _state(hass, STATUS_ID)))
        if disk is not None:
            disk.failing = True
        if asked is not None:
            asked.set()
        if release is not None:
            await release.wait()
        if fail and fail.pop(0):
            return AiohttpClientMockResponse(method, url, status=503)
        return AiohttpClientMockResponse(
            method, url, json=answer_json or {"success": True, "code": "123456"}
        )

    return answer


async def _held_validation(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
    **answer: Any,
) -> tuple[asyncio.Task[dict[str, Any]], asyncio.Event]:
    """Start callerid.validate for NUMBER; return once seven.io is asked, not answering.

    Returns the action and the event that lets seven.io answer (as `_asked`, with
    `answer` passed on).
    """
    asked, release = asyncio.Event(), asyncio.Event()
    answer_validation(
        aioclient_mock,
        side_effect=_asked(hass, persisted, [], asked=asked, release=release, **answer),
    )
    action = hass.async_create_task(call_validate(hass, number=NUMBER))
    await asked.wait()
    return action, release


def _state(hass: HomeAssistant, entity_id: str) -> str | None:
    state = hass.states.get(entity_id)
    return state.state if state is not None else None


async def test_pending_validation_is_on_disk_before_seven_io_answers(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    persisted: Persisted,
) -> None:
    """A crash after seven.io rang the phone cannot lose the validation's token.

    It takes effect (sensors, cooldown) only once seven.io answered.
    """
    seen: list[tuple[dict[str, str], str | None]] = []
    answer_validation(aioclient_mock, side_effect=_asked(hass, persisted, seen))
    await call_validate(hass, number=NUMBER)
    assert seen == [({NUMBER: "pending"}, None)]
    path = callback_path(aioclient_mock)
    assert persisted.numbers()[NUMBER]["token_hash"] == hash_token(path.query["token"])

    # What a restart reads is enough for the callback.
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    assert hass.states.get(ENTITY_ID).state == "on"


@pytest.mark.parametrize("known", [False, True], ids=["new number", "validated number"])
async def test_refused_validation_writes_back_what_was_known(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    persisted: Persisted,
    known: bool,
) -> None:
    """When seven.io fails, the number is on disk as before, and no state changed."""
    seen: list[tuple[dict[str, str], str | None]] = []
    answer_validation(
        aioclient_mock,
        side_effect=_asked(
            hass, persisted, seen, fail=[False, True] if known else [True]
        ),
    )
    if known:
        await call_validate(hass, number=NUMBER)
        client = await hass_client_no_auth()
        path = callback_path(aioclient_mock)
        assert (await client.get(path.update_query(SEVEN_OK))).status == 200
        seen.clear()
    before = persisted.numbers()
    changes: list[Any] = []
    hass.bus.async_listen("state_changed", changes.append)
    with pytest.raises(HomeAssistantError):
        await call_validate(hass, number=NUMBER)
    await hass.async_block_till_done()
    # Written ahead, then taken back.
    assert seen == [({NUMBER: "pending"}, "validated" if known else None)]
    assert persisted.numbers() == before
    assert changes == []
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    assert _state(hass, STATUS_ID) == ("validated" if known else None)


async def test_cancelled_action_keeps_the_validation_and_its_code(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
) -> None:
    """An action cancelled while seven.io is asked (a stopped automation): the phone rings."""
    action, release = await _held_validation(hass, aioclient_mock, persisted)
    action.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await action
    release.set()
    await hass.async_block_till_done()
    assert _state(hass, STATUS_ID) == "pending"
    assert persisted.statuses() == {NUMBER: "pending"}
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert any("123456" in n["message"] for n in notifications.values())


async def test_fold_while_seven_io_is_asked_keeps_the_pending_validation(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    persisted: Persisted,
    hass_storage: dict[str, Any],
) -> None:
    """The journal folded by another change meanwhile: the snapshot holds the validation."""
    action, release = await _held_validation(hass, aioclient_mock, persisted)
    store = init_integration.runtime_data.store
    await store._journal.async_fold(store._async_write_snapshot)
    assert not persisted.journal.exists()
    assert persisted.statuses() == {NUMBER: "pending"}
    release.set()
    await action

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    client = await hass_client_no_auth()
    path = callback_path(aioclient_mock)
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    assert hass.states.get(ENTITY_ID).state == "on"


async def test_reload_while_seven_io_is_asked_waits_for_its_answer(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    persisted: Persisted,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Unloading waits for the validation under way; the store unloaded changes nothing after.

    The unloaded store used to arm an expiry timer for it and, later, write "expired"
    over the number the reloaded entry had validated meanwhile.
    """
    action, release = await _held_validation(hass, aioclient_mock, persisted)
    reload = hass.async_create_task(
        hass.config_entries.async_reload(init_integration.entry_id)
    )
    release.set()
    await action
    assert await reload
    client = await hass_client_no_auth()
    path = callback_path(aioclient_mock)
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    assert persisted.statuses() == {NUMBER: "validated"}

    freezer.tick(timedelta(minutes=16))
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done()
    assert persisted.statuses() == {NUMBER: "validated"}
    assert _state(hass, STATUS_ID) == "validated"


async def test_reload_while_a_refused_validation_is_asked_agrees_with_the_disk(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
) -> None:
    """Refused while the entry reloads: the reloaded entry has no number, nor the disk."""
    action, release = await _held_validation(
        hass, aioclient_mock, persisted, fail=[True]
    )
    reload = hass.async_create_task(
        hass.config_entries.async_reload(init_integration.entry_id)
    )
    release.set()
    with pytest.raises(HomeAssistantError):
        await action
    assert await reload
    assert persisted.statuses() == {}
    assert init_integration.runtime_data.store.get(NUMBER) is None


@pytest.mark.parametrize("answer", ["already validated", "refused"])
async def test_failed_write_back_leaves_disk_as_memory(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
    answer: str,
) -> None:
    """The disk fails after the pending validation was written ahead of seven.io's answer.

    Neither the answer nor the write-back reaches the journal: a snapshot of memory
    replaces it, so a restart does not find the number pending (and, once the code
    expired, no longer validated), and no written-ahead record comes back later.
    """
    answer_validation(aioclient_mock, json=ALREADY)
    await call_validate(hass, number=NUMBER)
    aioclient_mock.clear_requests()
    disk = _Disk()
    seen: list[tuple[dict[str, str], str | None]] = []
    answer_validation(
        aioclient_mock,
        side_effect=_asked(
            hass,
            persisted,
            seen,
            disk=disk,
            fail=[answer == "refused"],
            answer_json=ALREADY,
        ),
    )
    with (
        patch("custom_components.callerid.journal._append", disk.append),
        pytest.raises(HomeAssistantError),
    ):
        await call_validate(hass, number=NUMBER)
    assert seen[0][0] == {NUMBER: "pending"}
    disk.failing = False
    assert persisted.statuses() == {NUMBER: "validated"}
    store = init_integration.runtime_data.store
    assert store.get(NUMBER).status.value == "validated"

    await store.async_forget(NUMBER)
    await store._journal.async_fold(store._async_write_snapshot)
    assert persisted.statuses() == {}


async def test_refusal_is_not_held_back_while_seven_io_is_asked(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    persisted: Persisted,
) -> None:
    """A forged callback for a number being validated is answered at once, as any other.

    Held back until seven.io answered, it would tell which number is being validated.
    """
    action, release = await _held_validation(hass, aioclient_mock, persisted)
    client = await hass_client_no_auth()
    url = f"/api/webhook/{init_integration.data['webhook_id']}"
    forged = SEVEN_OK | {"token": "x" * 43}
    for sender in ("4930123456", SEVEN_OK["sender"]):
        response = await asyncio.wait_for(
            client.get(url, params=forged | {"sender": sender}), 5
        )
        assert response.status == 403
    assert not action.done()
    release.set()
    await action


async def test_unload_outlasts_home_assistants_ten_seconds(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A reload waits for a validation however long seven.io takes (about 10.5 s here).

    As an unload callback it had 10 seconds from Home Assistant; then the reloaded entry
    loaded the written-ahead validation while the old store still took it back.
    """
    slow = threading.Event()
    real_append = journal_module._append

    def append(path: str, fd: int | None, data: bytes) -> int:
        if slow.is_set():
            time.sleep(0.6)  # a slow disk, for the write-back
        return int(real_append(path, fd, data))

    async def silent(method: str, url: Any, data: Any) -> AiohttpClientMockResponse:
        slow.set()
        await asyncio.Event().wait()  # seven.io never answers: the client times out
        raise AssertionError

    answer_validation(aioclient_mock, side_effect=silent)
    with patch.object(journal_module, "_append", append):
        action = hass.async_create_task(call_validate(hass, number=NUMBER))
        await asyncio.to_thread(slow.wait, 5)
        assert await hass.config_entries.async_reload(init_integration.entry_id)
        with pytest.raises(HomeAssistantError):
            await action
    assert "did not complete in time" not in caplog.text
    assert init_integration.runtime_data.store.get(NUMBER) is None
    assert persisted.statuses() == {}


@pytest.mark.parametrize("change", ["unload", "reload"])
async def test_validate_while_the_entry_unloads(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
    change: str,
) -> None:
    """The entry unloaded while the callback URL was made (a cloudhook, say).

    Unloaded: refused, nothing rings. Reloaded: the validation goes to the entry as it
    is now; it used to go to the unloaded store, and its callback was refused.
    """
    real_url = services_module.async_callback_url
    reached, go = asyncio.Event(), asyncio.Event()

    async def slow_url(hass: HomeAssistant, entry: Any, token: str) -> Any:
        reached.set()
        await go.wait()
        return await real_url(hass, entry, token)

    answer_validation(aioclient_mock, json={"success": True, "code": "123456"})
    with patch.object(services_module, "async_callback_url", slow_url):
        action = hass.async_create_task(call_validate(hass, number=NUMBER))
        await reached.wait()
        if change == "unload":
            assert await hass.config_entries.async_unload(init_integration.entry_id)
            go.set()
            with pytest.raises(ServiceValidationError) as raised:
                await action
            assert raised.value.translation_key == "entry_not_loaded"
            assert validate_calls(aioclient_mock) == []
            assert persisted.statuses() == {}
            return
        assert await hass.config_entries.async_reload(init_integration.entry_id)
        go.set()
        await action
    assert persisted.statuses() == {NUMBER: "pending"}
    assert init_integration.runtime_data.store.get(NUMBER) is not None
    assert _state(hass, STATUS_ID) == "pending"


async def test_callback_before_the_pending_validation_landed_waits_for_it(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    persisted: Persisted,
) -> None:
    """seven.io calls back while the journal is busy (a fold): applied once it is written."""
    store = init_integration.runtime_data.store
    client = await hass_client_no_auth()
    answered: list[asyncio.Task[Any]] = []
    asked = asyncio.Event()

    async def answer(method: str, url: Any, data: Any) -> AiohttpClientMockResponse:
        path = URL(data["callback"])
        answered.append(
            hass.async_create_task(
                client.get(
                    URL.build(path=path.path, query=path.query).update_query(SEVEN_OK)
                )
            )
        )
        asked.set()
        return AiohttpClientMockResponse(
            method, url, json={"success": True, "code": "123456"}
        )

    answer_validation(aioclient_mock, side_effect=answer)
    await store._journal._lock.acquire()  # a fold under way
    action = hass.async_create_task(call_validate(hass, number=NUMBER))
    await asked.wait()
    await asyncio.to_thread(time.sleep, 0.1)  # the callback is in
    store._journal._lock.release()
    await action
    (callback,) = answered
    assert (await callback).status == 200
    assert persisted.statuses() == {NUMBER: "validated"}
    assert hass.states.get(ENTITY_ID).state == "on"


async def test_callback_applied_while_the_entry_unloads_is_told(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    persisted: Persisted,
) -> None:
    """A callback that waited behind seven.io's answer, then the entry unloads: told.

    Home Assistant drops the entry's listeners before its unload callbacks run; the
    validation used to be applied there, without the completion event.
    """
    events: list[Any] = []
    hass.bus.async_listen(EVENT_VALIDATION_COMPLETED, events.append)
    action, release = await _held_validation(hass, aioclient_mock, persisted)
    store = init_integration.runtime_data.store
    client = await hass_client_no_auth()
    path = callback_path(aioclient_mock)
    callback = hass.async_create_task(client.get(path.update_query(SEVEN_OK)))
    for _ in range(200):
        if len(store._changes) == 2:
            break
        await asyncio.to_thread(time.sleep, 0.005)
    assert len(store._changes) == 2
    reload = hass.async_create_task(
        hass.config_entries.async_reload(init_integration.entry_id)
    )
    await asyncio.to_thread(time.sleep, 0.05)
    release.set()
    await action
    assert await reload
    assert (await callback).status == 200
    assert persisted.statuses() == {NUMBER: "validated"}
    assert [event.data["status"] for event in events] == ["validated"]
