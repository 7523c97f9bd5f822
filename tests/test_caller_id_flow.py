"""Add caller ID: the dialog that validates a number, shows the code and the result."""

from __future__ import annotations

import asyncio
from datetime import timedelta
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

from custom_components.callerid.const import SUBENTRY_CALLER_ID
from custom_components.callerid.validation import Validations
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, UnknownFlow

from .conftest import (
    ALREADY,
    NUMBER,
    SEVEN_OK,
    SEVEN_WRONG_CODE,
    STATUS_ID,
    VALIDATE_URL,
    answer_validation,
    callback_path,
    validate_calls,
)

TYPED = "0176 12345678"  # as a person types it; Home Assistant's country is DE


async def _open(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CALLER_ID), context={"source": "user"}
    )
    return dict(result)


async def _submit(hass: HomeAssistant, flow_id: str, number: str) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_configure(
        flow_id, {"number": number}
    )
    return dict(result)


async def _started(
    hass: HomeAssistant, entry: MockConfigEntry, aioclient_mock: AiohttpClientMocker
) -> dict[str, Any]:
    """Open the dialog, type the number; seven.io answers with a code."""
    answer_validation(aioclient_mock, json={"success": True, "code": "699350"})
    opened = await _open(hass, entry)
    assert opened["type"] is FlowResultType.FORM
    return await _submit(hass, opened["flow_id"], TYPED)


async def _settled(hass: HomeAssistant) -> None:
    """Let the dialog's wait (a background task) look again at what changed."""
    await hass.async_block_till_done()
    for _ in range(3):
        await asyncio.sleep(0)


async def _finished(hass: HomeAssistant, flow_id: str) -> dict[str, Any]:
    """Let the progress task end and the flow go on to its result."""
    await _settled(hass)
    result = await hass.config_entries.subentries.async_configure(flow_id)
    return dict(result)


@pytest.mark.parametrize(
    ("answer", "reason", "error"),
    [
        (SEVEN_OK, "validation_validated", ""),
        (SEVEN_WRONG_CODE, "validation_failed", ""),
    ],
)
async def test_the_code_on_screen_then_the_result(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    answer: dict[str, str],
    reason: str,
    error: str,
) -> None:
    """The dialog shows the code while seven.io calls, then how the validation ended."""
    waiting = await _started(hass, init_integration, aioclient_mock)
    assert waiting["type"] is FlowResultType.SHOW_PROGRESS
    assert waiting["progress_action"] == "calling"
    assert waiting["description_placeholders"] == {
        "number": "+49 176 12345678",
        "code": "699350",
    }
    assert hass.states.get(STATUS_ID).state == "pending"  # as any validation

    client = await hass_client_no_auth()
    path = callback_path(aioclient_mock)
    assert (await client.get(path.update_query(answer))).status == 200
    done = await _finished(hass, waiting["flow_id"])
    assert done["type"] is FlowResultType.ABORT
    assert done["reason"] == reason
    assert done["description_placeholders"]["number"] == "+49 176 12345678"
    if reason == "validation_failed":
        assert done["description_placeholders"]["error"] == "Wrong code"


async def test_expired(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Nobody typed the code in its lifetime: the dialog says it expired."""
    waiting = await _started(hass, init_integration, aioclient_mock)
    freezer.tick(timedelta(minutes=15))
    async_fire_time_changed(hass)
    done = await _finished(hass, waiting["flow_id"])
    assert done["reason"] == "validation_expired"
    assert hass.states.get(STATUS_ID).state == "expired"


async def test_already_validated_finishes_at_once(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """seven.io knew the number: no code, no waiting, and no call, as the dialog says."""
    answer_validation(aioclient_mock, json=ALREADY)
    opened = await _open(hass, init_integration)
    done = await _submit(hass, opened["flow_id"], TYPED)
    assert (done["type"], done["reason"]) == (FlowResultType.ABORT, "validation_known")
    assert done["description_placeholders"]["number"] == "+49 176 12345678"


async def test_callback_before_the_progress_is_shown(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """seven.io's callback lands before the dialog shows the code: the result at once."""
    client = await hass_client_no_auth()
    validate = Validations.async_validate

    async def then_the_callback(self: Validations, number: str) -> dict[str, Any]:
        started = await validate(self, number)
        path = callback_path(aioclient_mock)
        assert (await client.get(path.update_query(SEVEN_OK))).status == 200
        return started

    with patch.object(Validations, "async_validate", then_the_callback):
        done = await _started(hass, init_integration, aioclient_mock)
    assert (done["type"], done["reason"]) == (
        FlowResultType.ABORT,
        "validation_validated",
    )


async def test_closed_while_seven_io_is_asked(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """Closed before seven.io answered: the validation goes on, nothing waits for it."""
    validate = Validations.async_validate
    opened: dict[str, Any] = {}

    async def closed_meanwhile(self: Validations, number: str) -> dict[str, Any]:
        hass.config_entries.subentries.async_abort(opened["flow_id"])
        return await validate(self, number)

    answer_validation(aioclient_mock, json={"success": True, "code": "699350"})
    opened = await _open(hass, init_integration)
    with (
        patch.object(Validations, "async_validate", closed_meanwhile),
        pytest.raises(UnknownFlow),
    ):
        await _submit(hass, opened["flow_id"], TYPED)
    assert hass.states.get(STATUS_ID).state == "pending"
    waiting = [
        task
        for task in asyncio.all_tasks()
        if task.get_name() == "callerid caller ID dialog" and not task.done()
    ]
    assert waiting == []


async def test_closed_and_opened_again(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Closing the dialog leaves the validation going; opening it again shows it."""
    waiting = await _started(hass, init_integration, aioclient_mock)
    hass.config_entries.subentries.async_abort(waiting["flow_id"])
    await hass.async_block_till_done()
    assert hass.states.get(STATUS_ID).state == "pending"

    again = await _submit(
        hass, (await _open(hass, init_integration))["flow_id"], NUMBER
    )
    assert again["type"] is FlowResultType.SHOW_PROGRESS
    assert again["progress_action"] == "under_way"  # the code is in the notification
    assert len(validate_calls(aioclient_mock)) == 1  # the phone did not ring again

    client = await hass_client_no_auth()
    path = callback_path(aioclient_mock)
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    done = await _finished(hass, again["flow_id"])
    assert done["reason"] == "validation_validated"
    assert hass.states.get(STATUS_ID).state == "validated"


async def test_form_errors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """A bad number, seven.io's refusal and no public URL are said in the form."""
    opened = await _open(hass, init_integration)
    result = await _submit(hass, opened["flow_id"], "12")
    assert result["errors"] == {"number": "invalid_number"}

    answer_validation(aioclient_mock, text="902")
    result = await _submit(hass, opened["flow_id"], TYPED)
    assert result["errors"] == {"base": "validation_refused"}
    assert "access right" in result["description_placeholders"]["error"]

    await hass.config.async_update(external_url=None)
    result = await _open(hass, init_integration)
    assert result["errors"] == {"base": "callback_unreachable"}
    result = await _submit(hass, result["flow_id"], TYPED)
    assert result["errors"] == {"base": "callback_unreachable"}
    assert len(validate_calls(aioclient_mock)) == 1  # only the refused one


async def test_the_account_removed_or_unloaded_meanwhile(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Unloaded, the dialog says so after a grace for a reload; removed, no error."""
    waiting = await _started(hass, init_integration, aioclient_mock)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await _settled(hass)  # the dialog waits: a reload would load the account again
    freezer.tick(timedelta(seconds=31))
    async_fire_time_changed(hass)
    done = await _finished(hass, waiting["flow_id"])
    assert (done["type"], done["reason"]) == (FlowResultType.ABORT, "entry_not_loaded")

    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    opened = await _open(hass, init_integration)
    again = await _submit(hass, opened["flow_id"], TYPED)
    assert again["progress_action"] == "under_way"
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    done = await _finished(hass, again["flow_id"])  # at once: it is gone
    assert (done["type"], done["reason"]) == (FlowResultType.ABORT, "entry_not_loaded")


async def test_a_reload_that_expires_the_code(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A shorter code lifetime (a reload) expires the code: the dialog says expired."""
    waiting = await _started(hass, init_integration, aioclient_mock)
    freezer.tick(timedelta(minutes=5))
    hass.config_entries.async_update_entry(
        init_integration, options={**init_integration.options, "code_lifetime": 2}
    )
    await hass.async_block_till_done()
    assert hass.states.get(STATUS_ID).state == "expired"
    done = await _finished(hass, waiting["flow_id"])
    assert done["reason"] == "validation_expired"


async def test_two_dialogs_for_one_number(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """The second dialog joins the validation the first one started: one call."""
    asked, answered = asyncio.Event(), asyncio.Event()

    async def slowly(method: str, url: Any, data: Any) -> AiohttpClientMockResponse:
        asked.set()
        await answered.wait()
        return AiohttpClientMockResponse(
            method, url, json={"success": True, "code": "699350"}
        )

    aioclient_mock.post(VALIDATE_URL, side_effect=slowly)
    first = hass.async_create_task(
        _submit(hass, (await _open(hass, init_integration))["flow_id"], TYPED)
    )
    await asked.wait()  # the first dialog's request is under way
    second = hass.async_create_task(
        _submit(hass, (await _open(hass, init_integration))["flow_id"], NUMBER)
    )
    await asyncio.sleep(0)
    answered.set()
    assert (await first)["progress_action"] == "calling"
    assert (await second)["progress_action"] == "under_way"
    assert len(validate_calls(aioclient_mock)) == 1


async def test_validate_again_from_the_row(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A failed number's row: Validate again asks nothing, calls with a new code."""
    codes = iter(["699350", "123987"])

    async def answer(method: str, url: Any, data: Any) -> AiohttpClientMockResponse:
        return AiohttpClientMockResponse(
            method, url, json={"success": True, "code": next(codes)}
        )

    answer_validation(aioclient_mock, side_effect=answer)
    first = await _submit(hass, (await _open(hass, init_integration))["flow_id"], TYPED)
    client = await hass_client_no_auth()
    assert (
        await client.get(callback_path(aioclient_mock).update_query(SEVEN_WRONG_CODE))
    ).status
    assert (await _finished(hass, first["flow_id"]))["reason"] == "validation_failed"
    (row,) = init_integration.get_subentries_of_type(SUBENTRY_CALLER_ID)

    form = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, SUBENTRY_CALLER_ID),
        context={"source": "reconfigure", "subentry_id": row.subentry_id},
    )
    assert form["type"] is FlowResultType.FORM
    assert form["step_id"] == "reconfigure"
    assert form["data_schema"] is None
    assert form["description_placeholders"]["number"] == "+49 176 12345678"
    assert len(validate_calls(aioclient_mock)) == 1  # nothing rings before submit

    waiting = await hass.config_entries.subentries.async_configure(form["flow_id"], {})
    assert waiting["type"] is FlowResultType.SHOW_PROGRESS
    assert waiting["description_placeholders"]["code"] == "123987"
    assert hass.states.get(STATUS_ID).state == "pending"
    path = callback_path(aioclient_mock)
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    done = await _finished(hass, waiting["flow_id"])
    assert done["reason"] == "validation_validated"
    # Still the one row: validating again changes no list.
    assert [row] == init_integration.get_subentries_of_type(SUBENTRY_CALLER_ID)


async def test_the_row_deleted_meanwhile(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """Its number forgotten, a waiting dialog and a Validate again form say so."""
    waiting = await _started(hass, init_integration, aioclient_mock)
    (row,) = init_integration.get_subentries_of_type(SUBENTRY_CALLER_ID)
    form = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, SUBENTRY_CALLER_ID),
        context={"source": "reconfigure", "subentry_id": row.subentry_id},
    )
    hass.config_entries.async_remove_subentry(init_integration, row.subentry_id)
    done = await _finished(hass, waiting["flow_id"])
    assert done["type"] is FlowResultType.ABORT
    assert done["reason"] == "caller_id_forgotten"
    submitted = await hass.config_entries.subentries.async_configure(
        form["flow_id"], {}
    )
    assert submitted["type"] is FlowResultType.ABORT
    assert submitted["reason"] == "caller_id_forgotten"
    assert len(validate_calls(aioclient_mock)) == 1
