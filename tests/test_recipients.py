"""Recipients: added under an account, called from notify entities and legacy services."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.callerid.const import (
    DOMAIN,
    SUBENTRY_CALLER_ID,
    SUBENTRY_RECIPIENT,
)
from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component

from .conftest import (
    NUMBER,
    SEVEN_OK,
    SEVEN_WRONG_CODE,
    VOICE_URL,
    call,
    call_validate,
    callback_path,
    start_validation,
    voice_answer,
    voice_calls,
)
from .test_call_status import event, hook_path

ALICE = "+4930123456"
NOTIFY_ALICE = "notify.alice"
EVENT_ALICE = "event.alice_call"


async def _add(hass: HomeAssistant, entry: MockConfigEntry, **data: str) -> dict:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_RECIPIENT), context={"source": "user"}
    )
    if result["type"] is not FlowResultType.FORM:
        return dict(result)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], data
    )
    await hass.async_block_till_done()
    return dict(result)


@pytest.fixture
async def alice(hass: HomeAssistant, validated: MockConfigEntry) -> MockConfigEntry:
    """Add Alice (typed nationally) as a recipient called from NUMBER."""
    result = await _add(
        hass, validated, name="Alice", number="030 123456", caller_id=NUMBER
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    return validated


async def test_add_recipient_gives_a_notify_entity_on_its_device(
    hass: HomeAssistant, alice: MockConfigEntry
) -> None:
    """The subentry keeps the number as E.164; its entity is named after the person."""
    (recipient,) = alice.get_subentries_of_type(SUBENTRY_RECIPIENT)
    assert recipient.title == "Alice"
    assert recipient.unique_id == ALICE
    assert dict(recipient.data) == {"number": ALICE, "caller_id": NUMBER}
    entity = er.async_get(hass).async_get(NOTIFY_ALICE)
    assert entity is not None
    assert entity.config_subentry_id == recipient.subentry_id
    assert hass.states.get(NOTIFY_ALICE) is not None


async def test_recipient_form_errors(
    hass: HomeAssistant, alice: MockConfigEntry
) -> None:
    """A bad number, a number or name already there, and a blank name are refused."""
    for data, errors in (
        ({"name": "Bob", "number": "12"}, {"number": "invalid_number"}),
        ({"name": "Bob", "number": "+49 30 123456"}, {"number": "recipient_taken"}),
        ({"name": "alice", "number": "+49 40 123456"}, {"name": "name_taken"}),
        # The same notify.callerid_alice: one service, one target name.
        ({"name": "Alice!", "number": "+49 40 123456"}, {"name": "name_taken"}),
        ({"name": "  ", "number": "+49 40 123456"}, {"name": "name_required"}),
    ):
        result = await _add(hass, alice, caller_id=NUMBER, **data)
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == errors
    assert len(alice.get_subentries_of_type(SUBENTRY_RECIPIENT)) == 1


async def test_no_recipient_without_a_validated_caller_id(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Calls come from a validated caller ID: without one, the dialog says so."""
    result = await _add(hass, init_integration)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_caller_id"


async def test_no_recipient_without_room_for_its_entities(
    hass: HomeAssistant, validated: MockConfigEntry
) -> None:
    """Past Home Assistant's entity limit the dialog says so instead of a silent drop."""
    with patch(
        "homeassistant.helpers.entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY",
        6,  # the number's 3 and the account's 2: room for 1, a recipient needs 2
    ):
        result = await _add(hass, validated)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_room"
    assert result["description_placeholders"] == {"limit": "6"}


async def test_notify_entity_calls_the_recipient(
    hass: HomeAssistant, alice: MockConfigEntry, aioclient_mock: AiohttpClientMocker
) -> None:
    """notify.send_message places one call from the chosen caller ID, title first."""
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": NOTIFY_ALICE, "title": "Alarm", "message": "Smoke upstairs"},
        blocking=True,
    )
    (form,) = voice_calls(aioclient_mock)
    assert (form["from"], form["to"]) == (NUMBER, ALICE)
    assert form["text"] == "Alarm. Smoke upstairs"
    assert len(alice.runtime_data.calls.calls) == 1  # counted like any call


async def test_legacy_service_per_recipient(
    hass: HomeAssistant, alice: MockConfigEntry, aioclient_mock: AiohttpClientMocker
) -> None:
    """notify.callerid_alice, for alert and Alarmo; notify.callerid names its targets."""
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    await hass.async_block_till_done()
    assert hass.services.has_service("notify", "callerid_alice")
    await hass.services.async_call(
        "notify", "callerid_alice", {"message": "Door open"}, blocking=True
    )
    await hass.services.async_call(
        "notify", "callerid", {"message": "Again", "target": ["Alice"]}, blocking=True
    )
    assert [form["to"] for form in voice_calls(aioclient_mock)] == [ALICE, ALICE]
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "notify", "callerid", {"message": "x", "target": ["Bob"]}, blocking=True
        )
    assert err.value.translation_key == "recipient_unknown"


async def test_each_call_to_the_recipient_is_an_event_of_theirs(
    hass: HomeAssistant,
    alice: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Alice's Call entity tells how each call to her ended; others' calls are not hers."""
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    response = await call(
        hass,
        caller_id=NUMBER,
        to="+49 40 123456",
        recipients=[NOTIFY_ALICE],
        message="Hello",
    )
    other, hers = (row["call_id"] for row in response["calls"])
    calls = async_mock_service(hass, "test", "record")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "triggers": {
                    "trigger": "event.received",
                    "target": {"entity_id": EVENT_ALICE},
                    "options": {"event_type": ["answered"]},
                },
                "actions": {"action": "test.record"},
            }
        },
    )
    client = await hass_client_no_auth()
    for call_id, status, duration, seen in (
        (hers, "ringing", "", None),
        (other, "completed", "30", None),
        (hers, "completed", "42", "answered"),
    ):
        posted = await client.post(
            hook_path(alice), json=event(call_id, status, duration)
        )
        assert posted.status == 200
        await hass.async_block_till_done()
        state = hass.states.get(EVENT_ALICE)
        assert state is not None
        assert state.attributes["event_type"] == seen
    assert {key: state.attributes[key] for key in ("from", "call_id", "duration")} == {
        "from": NUMBER,
        "call_id": hers,
        "duration": 42,
    }
    assert state.attributes["event_types"] == ["answered", "not_answered", "failed"]
    assert len(calls) == 1  # the automation editor's trigger "Event received"


async def test_legacy_targets_of_two_accounts_with_an_alice(
    hass: HomeAssistant, alice: MockConfigEntry, aioclient_mock: AiohttpClientMocker
) -> None:
    """Two Alices: each is called by the name the targets list; "Alice" is refused."""
    office = MockConfigEntry(
        domain=DOMAIN,
        title="Office",
        unique_id="account-2",
        data={CONF_API_KEY: "other-key-0123456789", CONF_WEBHOOK_ID: "e" * 64},
        subentries_data=[
            {
                "data": {"number": "+4940123456", "caller_id": NUMBER},
                "subentry_type": SUBENTRY_RECIPIENT,
                "title": "Alice",
                "unique_id": "+4940123456",
            }
        ],
    )
    office.add_to_hass(hass)
    assert await hass.config_entries.async_setup(office.entry_id)
    await hass.async_block_till_done()
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    await hass.services.async_call(
        "notify",
        "callerid",
        {"message": "Door open", "target": ["seven.io Alice"]},
        blocking=True,
    )
    assert [form["to"] for form in voice_calls(aioclient_mock)] == [ALICE]
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "notify", "callerid", {"message": "x", "target": ["Alice"]}, blocking=True
        )
    assert err.value.translation_key == "recipient_ambiguous"
    assert err.value.translation_placeholders == {
        "name": "Alice",
        "names": "seven.io Alice, Office Alice",
    }
    assert len(voice_calls(aioclient_mock)) == 1


async def test_removing_the_recipient_removes_its_service_and_entity(
    hass: HomeAssistant, alice: MockConfigEntry
) -> None:
    """Deleting the recipient reloads the account: its entity and services are gone."""
    (recipient,) = alice.get_subentries_of_type(SUBENTRY_RECIPIENT)
    assert hass.config_entries.async_remove_subentry(alice, recipient.subentry_id)
    await hass.async_block_till_done()
    assert er.async_get(hass).async_get(NOTIFY_ALICE) is None
    assert not hass.services.has_service("notify", "callerid_alice")


async def test_call_action_takes_recipients(
    hass: HomeAssistant, alice: MockConfigEntry, aioclient_mock: AiohttpClientMocker
) -> None:
    """callerid.call calls recipients by their notify entity, beside numbers."""
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    await call(
        hass,
        caller_id=NUMBER,
        to="+49 40 123456",
        recipients=[NOTIFY_ALICE],
        message="Hello",
    )
    assert [form["to"] for form in voice_calls(aioclient_mock)] == [
        "+4940123456",
        ALICE,
    ]
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, caller_id=NUMBER, recipients=["notify.bob"], message="x")
    assert err.value.translation_key == "recipient_unknown"


async def test_reconfigure_recipient(
    hass: HomeAssistant, alice: MockConfigEntry
) -> None:
    """A recipient's name and number change in place; the form starts from them."""
    (recipient,) = alice.get_subentries_of_type(SUBENTRY_RECIPIENT)
    result = await alice.start_subentry_reconfigure_flow(hass, recipient.subentry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": "Alice B", "number": "+49 30 654321", "caller_id": NUMBER},
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert alice.subentries[recipient.subentry_id].data["number"] == "+4930654321"
    assert hass.services.has_service("notify", "callerid_alice_b")


async def test_a_recipient_whose_caller_id_is_gone_is_a_repair(
    hass: HomeAssistant, alice: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    """Alice's caller ID deleted: her calls would fail, and a repair says so."""
    issue_id = f"recipient_caller_id_gone_{alice.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    (row,) = alice.get_subentries_of_type(SUBENTRY_CALLER_ID)
    assert hass.config_entries.async_remove_subentry(alice, row.subentry_id)
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "title": "seven.io",
        "names": "Alice",
        "numbers": "+49 176 12345678",
    }
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": NOTIFY_ALICE, "message": "Smoke upstairs"},
            blocking=True,
        )
    assert err.value.translation_key == "caller_id_not_validated"

    # Found again at the next start; gone once the number is validated again.
    assert await hass.config_entries.async_reload(alice.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    await call_validate(hass, number=NUMBER)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_a_recipient_whose_caller_id_cannot_call_is_a_repair(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Validated again, then failed: calls fail meanwhile, a repair; validated, none."""
    issue_id = f"recipient_caller_id_gone_{init_integration.entry_id}"
    client = await hass_client_no_auth()
    path = await start_validation(hass, aioclient_mock)
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    await _add(
        hass, init_integration, name="Alice", number="030 1234", caller_id=NUMBER
    )
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    await call_validate(hass, number=NUMBER)  # pending: its calls are refused
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    path = callback_path(aioclient_mock)
    assert (await client.get(path.update_query(SEVEN_WRONG_CODE))).status == 200
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    await call_validate(hass, number=NUMBER)
    path = callback_path(aioclient_mock)
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_reconfigure_offers_a_caller_id_that_can_call(
    hass: HomeAssistant, alice: MockConfigEntry
) -> None:
    """Alice's caller ID gone: her form starts from one that can call, not from it."""
    other = "+4940987654"
    await call_validate(hass, number=other)
    row = next(
        row
        for row in alice.get_subentries_of_type(SUBENTRY_CALLER_ID)
        if row.data["number"] == NUMBER
    )
    assert hass.config_entries.async_remove_subentry(alice, row.subentry_id)
    await hass.async_block_till_done()
    (recipient,) = alice.get_subentries_of_type(SUBENTRY_RECIPIENT)
    result = await alice.start_subentry_reconfigure_flow(hass, recipient.subentry_id)
    shown = {
        str(key): (key.description or {}).get("suggested_value")
        or (key.default() if callable(key.default) else None)
        for key in result["data_schema"].schema
    }
    assert shown == {"name": "Alice", "number": "+49 30 123456", "caller_id": other}
