"""Tests of the callback webhook: it applies seven.io's verdict and nothing else."""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any
from unittest.mock import patch
from urllib.parse import urlencode

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.callerid import models
from custom_components.callerid.const import DOMAIN
from homeassistant.components import webhook
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.aiohttp import MockRequest

from .conftest import (
    API_KEY,
    ENTITY_ID,
    NUMBER,
    SEVEN_OK,
    STATUS_ID,
    WEBHOOK_ID,
    Persisted,
    start_validation,
)


def sensor(hass: HomeAssistant) -> tuple[str, dict[str, Any]]:
    """Return the sensor's state and attributes."""
    state = hass.states.get(ENTITY_ID)
    assert state is not None
    return state.state, dict(state.attributes)


async def test_failed_validation(
    hass: HomeAssistant, pending: URL, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """success=0 marks the number failed with seven.io's error, and fires the event."""
    events = async_capture_events(hass, f"{DOMAIN}_validation_completed")
    client = await hass_client_no_auth()
    resp = await client.get(
        pending.update_query(
            SEVEN_OK | {"success": "0", "voice": "0", "id": "", "error": "Wrong code"}
        )
    )
    assert resp.status == 200
    state, attributes = sensor(hass)
    assert state == "off"
    # What is not known is left out, not shown as "Unknown".
    assert attributes["number"] == NUMBER
    assert attributes["voice"] is False
    assert "caller_id" not in attributes
    assert "error" not in attributes
    status = hass.states.get(STATUS_ID)
    assert status.state == "failed"
    assert status.attributes["error"] == "Wrong code"
    await hass.async_block_till_done()
    assert [event.data["success"] for event in events] == [False]


async def test_post_callback(
    hass: HomeAssistant, pending: URL, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """A POST with a form body is read like the GET seven.io documents."""
    client = await hass_client_no_auth()
    resp = await client.post(pending, data=SEVEN_OK)
    assert resp.status == 200
    assert sensor(hass)[0] == "on"


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def test_post_form_is_percent_decoded(
    hass: HomeAssistant, pending: URL, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """Form values are decoded: an escaped +, colon and umlaut arrive as themselves."""
    client = await hass_client_no_auth()
    body = (
        "sender=%2B4917612345678&success=0&voice=0&id="
        "&error=Falscher+Code%3A+%C3%A4&formatted_output=%2B49+176+12345678"
    )
    resp = await client.post(pending, data=body.encode(), headers=FORM)
    assert resp.status == 200
    status = hass.states.get(STATUS_ID)
    assert status.state == "failed"
    assert status.attributes["error"] == "Falscher Code: ä"


async def test_post_body_in_chunks_is_read_whole(
    hass: HomeAssistant, pending: URL, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """A chunked body is judged by all its chunks, not the first."""

    async def chunks() -> Any:
        yield b"sender=4917612345678&"
        await asyncio.sleep(0.05)
        yield b"success=1&voice=1&id=12345"

    client = await hass_client_no_auth()
    resp = await client.post(pending, data=chunks(), headers=FORM)
    assert resp.status == 200
    assert sensor(hass)[0] == "on"


async def test_post_body_read_while_the_entry_unloads_is_503(
    hass: HomeAssistant,
    pending: URL,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The entry unloads while a POST body arrives: 503, not applied to the store let go."""
    first_sent, go_on = asyncio.Event(), asyncio.Event()

    async def chunks() -> Any:
        yield b"sender=4917612345678&"
        first_sent.set()
        await go_on.wait()
        yield b"success=1&voice=1&id=12345"

    client = await hass_client_no_auth()
    response = hass.async_create_task(client.post(pending, data=chunks(), headers=FORM))
    await first_sent.wait()
    await asyncio.sleep(0.05)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    go_on.set()
    assert (await response).status == 503
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    assert hass.states.get(STATUS_ID).state == "pending"


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_cloudhook_delivery(
    hass: HomeAssistant, pending: URL, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    """Home Assistant Cloud hands the callback over as a MockRequest, GET or POST."""
    form = urlencode(SEVEN_OK | {"sender": "+4917612345678"})
    request = MockRequest(
        form.encode() if method == "POST" else b"",
        mock_source="cloud",
        method=method,
        headers=FORM if method == "POST" else {},
        query_string=pending.query_string
        if method == "POST"
        else f"{pending.query_string}&{form}",
    )
    response = await webhook.async_handle_webhook(hass, WEBHOOK_ID, request)  # type: ignore[arg-type]
    assert response.status == 200
    assert sensor(hass)[0] == "on"
    assert "Error processing webhook" not in caplog.text


async def test_sender_formatting_does_not_matter(
    hass: HomeAssistant, pending: URL, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """The sender is compared as a number, not as text."""
    client = await hass_client_no_auth()
    resp = await client.get(
        pending.update_query(SEVEN_OK | {"sender": "+49 176 1234 5678"})
    )
    assert resp.status == 200
    assert sensor(hass)[0] == "on"


async def test_extra_parameters_are_ignored(
    hass: HomeAssistant, pending: URL, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """A parameter seven.io might add later does not break the callback."""
    client = await hass_client_no_auth()
    resp = await client.get(pending.update_query(SEVEN_OK | {"new_field": "x"}))
    assert resp.status == 200
    assert sensor(hass)[0] == "on"


def _forgeries(token: str) -> list[tuple[str, dict[str, str], int]]:
    long = "9" * 3000
    return [
        ("no token", dict(SEVEN_OK), 400),
        ("wrong token", SEVEN_OK | {"token": "A" * 43}, 403),
        ("short token", SEVEN_OK | {"token": "abc"}, 400),
        ("other number", SEVEN_OK | {"token": token, "sender": "4917612345679"}, 403),
        # The same answer as for any number without a pending validation.
        ("unknown country", SEVEN_OK | {"token": token, "sender": "99912345"}, 403),
        ("letters in sender", SEVEN_OK | {"token": token, "sender": "49176abc"}, 400),
        ("no sender", {"token": token, "success": "1"}, 400),
        ("no success", {"token": token, "sender": "4917612345678"}, 400),
        ("success not a flag", SEVEN_OK | {"token": token, "success": "yes"}, 400),
        ("voice not a flag", SEVEN_OK | {"token": token, "voice": "2"}, 400),
        ("id not a number", SEVEN_OK | {"token": token, "id": "1; drop"}, 400),
        ("control chars", SEVEN_OK | {"token": token, "error": "a\nb"}, 400),
        ("oversized error", SEVEN_OK | {"token": token, "error": "e" * 300}, 400),
        ("oversized query", SEVEN_OK | {"token": token, "pad": long}, 400),
    ]


@pytest.mark.parametrize("case", range(len(_forgeries(""))))
async def test_forged_callbacks_change_nothing(
    hass: HomeAssistant,
    pending: URL,
    hass_client_no_auth: ClientSessionGenerator,
    persisted: Persisted,
    case: int,
) -> None:
    """Anything but the right token for the right number is refused, state untouched."""
    token = pending.query["token"]
    name, params, status = _forgeries(token)[case]
    stored = persisted.raw()
    events = async_capture_events(hass, f"{DOMAIN}_validation_completed")
    client = await hass_client_no_auth()

    resp = await client.get(URL.build(path=pending.path).update_query(params))

    assert resp.status == status, name
    assert hass.states.get(STATUS_ID).state == "pending"
    assert events == []
    assert persisted.raw() == stored
    # The real callback still works afterwards.
    resp = await client.get(pending.update_query(SEVEN_OK))
    assert resp.status == 200
    assert sensor(hass)[0] == "on"


async def test_refusals_do_the_same_work(
    hass: HomeAssistant, pending: URL, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """An unknown or invalid number is hashed and compared like a known one: no oracle."""
    client = await hass_client_no_auth()
    base = URL.build(path=pending.path)
    cases = {
        "known number, wrong token": SEVEN_OK | {"token": "B" * 43},
        "unknown number": SEVEN_OK
        | {"token": pending.query["token"], "sender": "4917612345679"},
        "no valid number": SEVEN_OK
        | {"token": pending.query["token"], "sender": "99912345"},
    }
    work = {}
    for name, params in cases.items():
        with (
            patch(
                "custom_components.callerid.validation.hash_token",
                wraps=models.hash_token,
            ) as hashed,
            patch("hmac.compare_digest", wraps=hmac.compare_digest) as compared,
        ):
            assert (await client.get(base.update_query(params))).status == 403
        work[name] = (hashed.call_count, compared.call_count)
    # Compared with the live validation's hash and the one being asked for.
    assert work == dict.fromkeys(cases, (1, 2))


async def test_repeated_parameter_is_refused(
    hass: HomeAssistant, pending: URL, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """A parameter given twice is ambiguous and refused."""
    client = await hass_client_no_auth()
    pairs = [*pending.query.items(), *SEVEN_OK.items(), ("success", "0")]
    resp = await client.get(URL.build(path=pending.path, query=pairs))
    assert resp.status == 400
    assert hass.states.get(STATUS_ID).state == "pending"


async def test_oversized_post_body_is_refused(
    hass: HomeAssistant, pending: URL, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """A large POST body is not read."""
    client = await hass_client_no_auth()
    resp = await client.post(pending, data=SEVEN_OK | {"pad": "x" * 5000})
    assert resp.status == 400
    assert hass.states.get(STATUS_ID).state == "pending"


async def test_other_methods_are_not_allowed(
    hass: HomeAssistant,
    pending: URL,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PUT, DELETE or PATCH are no way in, and are refused without a warning each."""
    client = await hass_client_no_auth()
    caplog.clear()
    for method in ("PUT", "DELETE", "PATCH", "PUT"):
        resp = await client.request(method, pending.update_query(SEVEN_OK))
        assert resp.status == 405, method
    assert hass.states.get(STATUS_ID).state == "pending"
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_callback_while_not_loaded_is_not_acknowledged(
    hass: HomeAssistant,
    pending: URL,
    hass_client_no_auth: ClientSessionGenerator,
    persisted: Persisted,
) -> None:
    """While the entry is not loaded a callback gets 503, and seven.io's retry lands later."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    client = await hass_client_no_auth()
    await hass.config_entries.async_unload(entry.entry_id)
    # Home Assistant answers a webhook without handler with 200 and does nothing.
    assert (await client.get(pending.update_query(SEVEN_OK))).status == 503
    assert persisted.statuses() == {NUMBER: "pending"}

    assert await hass.config_entries.async_setup(entry.entry_id)
    assert (await client.get(pending.update_query(SEVEN_OK))).status == 200
    assert sensor(hass)[0] == "on"
    assert persisted.statuses() == {NUMBER: "validated"}


async def test_callback_before_setup_and_after_removal(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The webhook is the integration's from its setup on, even before the entry loads."""
    mock_config_entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    # The integration is set up, the entry not (yet, or its setup failed).
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    client = await hass_client_no_auth()
    assert (await client.get(f"/api/webhook/{WEBHOOK_ID}")).status == 503

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert (await client.get(f"/api/webhook/{WEBHOOK_ID}")).status == 400
    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    # The entry is gone: the webhook with it.
    assert (await client.get(f"/api/webhook/{WEBHOOK_ID}")).status == 200


async def test_callback_for_unreadable_storage_is_not_acknowledged(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    hass_storage: dict[str, Any],
) -> None:
    """An entry that failed setup answers 503: nothing could be applied."""
    hass_storage[f"{DOMAIN}.{mock_config_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 2,
        "key": f"{DOMAIN}.{mock_config_entry.entry_id}",
        "data": {"numbers": "not a list"},
    }
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    client = await hass_client_no_auth()
    query = SEVEN_OK | {"token": "A" * 43}
    assert (await client.get(f"/api/webhook/{WEBHOOK_ID}", params=query)).status == 503


async def test_callback_that_fails_is_not_acknowledged(
    hass: HomeAssistant,
    pending: URL,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected error answers 500, not Home Assistant's 200, and names no webhook."""
    client = await hass_client_no_auth()
    with patch(
        "custom_components.callerid.validation.Validations.async_complete",
        side_effect=RuntimeError("boom"),
    ):
        assert (await client.get(pending.update_query(SEVEN_OK))).status == 500
    ours = [r for r in caplog.records if r.name.startswith("custom_components")]
    assert "Could not handle a request from seven.io" in ours[-1].getMessage()
    assert all(WEBHOOK_ID not in r.getMessage() for r in ours)
    assert (await client.get(pending.update_query(SEVEN_OK))).status == 200


async def test_refusals_are_quiet_and_counted(
    hass: HomeAssistant,
    pending: URL,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Refusals log at debug level; one warning an hour sums them up, without secrets."""
    client = await hass_client_no_auth()
    bad = URL.build(path=pending.path).update_query(SEVEN_OK | {"token": "B" * 43})
    caplog.set_level(logging.DEBUG, logger="custom_components.callerid")
    for _ in range(5):
        assert (await client.get(bad)).status == 403
    warnings = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("custom_components")
    ]
    assert len(warnings) == 1  # the first refusal starts the hour
    freezer.tick(3600)
    assert (await client.get(bad)).status == 403
    warnings = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("custom_components")
    ]
    assert len(warnings) == 2
    assert "Refused 5 request(s)" in warnings[1].getMessage()
    text = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("custom_components")
    )
    assert pending.query["token"] not in text
    assert "B" * 43 not in text
    assert WEBHOOK_ID not in text
    assert "4917612345678" not in text


async def test_logs_keep_secrets(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A whole validation at debug level logs no key, webhook id, token, code or full number."""
    caplog.set_level(logging.DEBUG)
    path = await start_validation(hass, aioclient_mock, code="654321")
    client = await hass_client_no_auth()
    assert (await client.get(path.update_query(SEVEN_OK))).status == 200
    ours = "\n".join(
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("custom_components.callerid")
    )
    assert "+491********78" in ours  # the number, masked
    for secret in (API_KEY, WEBHOOK_ID, path.query["token"], "654321", NUMBER):
        assert secret not in ours
