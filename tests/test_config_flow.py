"""Tests of the config flow: user, reauth, reconfigure."""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

import aiohttp
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from yarl import URL

from custom_components.callerid.config_flow import _unique_id
from custom_components.callerid.const import CONF_BASE_URL, DOMAIN
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import CONF_API_KEY, CONF_NAME, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import config_validation as cv

from .conftest import (
    API_KEY,
    BALANCE_URL,
    ENTITY_ID,
    EXTERNAL_URL,
    GATEWAY,
    HOOKS_URL,
    STATUS_ID,
    WEBHOOK_ID,
)
from .test_call_status import hook, hook_path

SIM_URL = "http://127.0.0.1:8765/api"


@pytest.fixture(autouse=True)
def no_background_checks() -> Iterator[None]:
    """Entries these flows create sync their hook (and so check the key): not tested here."""
    with patch("custom_components.callerid.reachability.HookSync.async_sync"):
        yield


async def test_user_flow_creates_entry(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """A working key creates an entry with its own webhook id."""
    aioclient_mock.get(BALANCE_URL, json={"amount": 1.5, "currency": "EUR"})
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "seven.io"
    assert result["data"][CONF_API_KEY] == API_KEY
    assert len(result["data"][CONF_WEBHOOK_ID]) == 64
    assert CONF_BASE_URL not in result["data"]
    assert aioclient_mock.mock_calls[0][3]["X-Api-Key"] == API_KEY
    assert API_KEY not in (result["result"].unique_id or "")


async def test_advanced_section_sets_gateway_url(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """The collapsed advanced section can point the entry at another gateway."""
    aioclient_mock.get(f"{SIM_URL}/balance", json={"amount": 1.0, "currency": "EUR"})
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_API_KEY: API_KEY, "advanced": {CONF_BASE_URL: f"{SIM_URL}/"}},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BASE_URL] == SIM_URL


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"text": "900"}, "invalid_auth"),
        ({"status": 401}, "invalid_auth"),
        ({"exc": TimeoutError()}, "cannot_connect"),
        ({"exc": aiohttp.ClientConnectionError()}, "cannot_connect"),
        ({"status": 503}, "cannot_connect"),
        # Answers that are not seven.io's gateway: a web page, a missing page, a move.
        ({"text": "<html>"}, "not_seven"),
        ({"status": 404, "text": "<html>Not found</html>"}, "not_seven"),
        (
            {"status": 302, "headers": {"Location": "https://evil.example/"}},
            "not_seven",
        ),
        ({"text": "903"}, "forbidden_ip"),
    ],
)
async def test_user_flow_errors_then_recovers(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    answer: dict[str, Any],
    error: str,
) -> None:
    """Each failure shows its error; the same form then succeeds."""
    aioclient_mock.get(BALANCE_URL, **answer)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY}
    )
    assert result["type"] is FlowResultType.FORM
    # What is about the gateway URL shows at its section.
    at = "advanced" if error == "not_seven" else "base"
    assert result["errors"] == {at: error}

    aioclient_mock.clear_requests()
    aioclient_mock.get(BALANCE_URL, json={"amount": 1.0, "currency": "EUR"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_key_without_balance_scope_is_accepted(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """902 means the key works but may not read the balance."""
    aioclient_mock.get(BALANCE_URL, text="902")
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}, data=None
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_same_key_twice_is_refused_at_the_key(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """A key configured already is refused at its field, not checked, the input kept."""
    aioclient_mock.get(BALANCE_URL, json={"amount": 1.0, "currency": "EUR"})
    for name in ("Home", "Office"):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_USER}
        )
        await hass.async_block_till_done()
        calls_before = aioclient_mock.call_count
        typed = {CONF_NAME: name, CONF_API_KEY: API_KEY}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], typed
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_API_KEY: "already_configured"}
    assert frontend_initial_data(result).items() >= typed.items()
    assert aioclient_mock.call_count == calls_before

    # The flow recovers: another key creates the entry.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], typed | {CONF_API_KEY: "key-two-0123456789"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Office"


async def test_two_accounts_side_by_side(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """Two keys make two entries with different webhooks."""
    aioclient_mock.get(BALANCE_URL, json={"amount": 1.0, "currency": "EUR"})
    for key in ("key-one-0123456789", "key-two-0123456789"):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_USER}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_KEY: key}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
    entries = hass.config_entries.async_entries(DOMAIN)
    assert len(entries) == 2
    assert entries[0].data[CONF_WEBHOOK_ID] != entries[1].data[CONF_WEBHOOK_ID]


@pytest.mark.parametrize("source", ["reauth", "reconfigure"])
async def test_replace_key(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    source: str,
) -> None:
    """Reauth and reconfigure check the new key, keep the webhook and reload."""
    entry_input: dict[str, Any] = {CONF_API_KEY: "new-key-0123456789"}
    if source == "reconfigure":
        entry_input["advanced"] = {CONF_BASE_URL: "https://gateway.seven.io/api"}
    entry = init_integration
    if source == "reauth":
        result = await entry.start_reauth_flow(hass)
        assert result["step_id"] == "reauth_confirm"
    else:
        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "reconfigure"

    aioclient_mock.clear_requests()
    aioclient_mock.get(BALANCE_URL, text="900")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "wrong-key-0123456789"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    ours = [our_hook(entry)]
    accounts(aioclient_mock, {API_KEY: ours, "new-key-0123456789": ours})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], entry_input
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == f"{source}_successful"
    assert entry.data[CONF_API_KEY] == "new-key-0123456789"
    assert entry.data[CONF_WEBHOOK_ID] == WEBHOOK_ID
    await hass.async_block_till_done()
    assert aioclient_mock.mock_calls[-1][3]["X-Api-Key"] == "new-key-0123456789"


async def test_reauth_keeps_gateway_url(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """A new key is checked against the entry's own gateway, not seven.io's."""
    aioclient_mock.get(f"{SIM_URL}/balance", json={"amount": 1.0, "currency": "EUR"})
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="x",
        data={
            CONF_API_KEY: API_KEY,
            CONF_WEBHOOK_ID: WEBHOOK_ID,
            CONF_BASE_URL: SIM_URL,
        },
    )
    entry.add_to_hass(hass)
    ours = [our_hook(entry)]
    accounts(aioclient_mock, {API_KEY: ours, "another-key-0123456789": ours}, SIM_URL)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "another-key-0123456789"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()  # the reload it starts
    assert entry.data[CONF_BASE_URL] == SIM_URL
    assert all(str(call[1]).startswith(SIM_URL) for call in aioclient_mock.mock_calls)


async def test_replace_key_with_key_of_other_entry_is_refused(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """A key that belongs to another entry is refused."""
    aioclient_mock.get(BALANCE_URL, json={"amount": 1.0, "currency": "EUR"})
    for key in ("key-one-0123456789", "key-two-0123456789"):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_USER}
        )
        await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_KEY: key}
        )
    first = hass.config_entries.async_entries(DOMAIN)[0]
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": first.entry_id}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "key-two-0123456789"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_API_KEY: "already_configured"}
    assert first.data[CONF_API_KEY] == "key-one-0123456789"


async def test_reconfigure_back_to_seven(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """Reconfigure can move an entry from a test gateway back to seven.io."""
    aioclient_mock.get(BALANCE_URL, json={"amount": 1.0, "currency": "EUR"})
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="x",
        data={
            CONF_API_KEY: API_KEY,
            CONF_WEBHOOK_ID: WEBHOOK_ID,
            CONF_BASE_URL: SIM_URL,
        },
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    schema = result["data_schema"].schema
    assert "advanced" in schema
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_API_KEY: API_KEY,
            "advanced": {CONF_BASE_URL: "https://gateway.seven.io/api"},
        },
    )
    assert result["reason"] == "reconfigure_successful"
    assert CONF_BASE_URL not in entry.data
    assert entry.data[CONF_WEBHOOK_ID] == WEBHOOK_ID
    await hass.async_block_till_done()  # the reload


async def test_options_flow(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Lifetime, cooldown, calls an hour and talk time are options; saving reloads."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"code_lifetime": 30.0, "cooldown": 120.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options == {
        "code_lifetime": 30,
        "cooldown": 120,
        "max_calls_per_hour": 20,
        "min_talk_time": 1,
        "warn_below": 0,
    }

    # Out of range: each field says its range, in words the dialog shows.
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "code_lifetime": 500,
            "cooldown": -1,
            "max_calls_per_hour": 0,
            "min_talk_time": 0,
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {
        "code_lifetime": "code_lifetime_range",
        "cooldown": "cooldown_range",
        "max_calls_per_hour": "max_calls_range",
        "min_talk_time": "min_talk_time_range",
    }
    strings = json.loads(
        (
            Path(__file__).parent.parent
            / "custom_components/callerid/translations/en.json"
        ).read_text()
    )["options"]["error"]
    assert "1 and 120" in strings["code_lifetime_range"]
    assert "0 and 3,600" in strings["cooldown_range"]
    assert "1 and 500" in strings["max_calls_range"]
    assert "1 and 600" in strings["min_talk_time_range"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"code_lifetime": 5, "cooldown": 0, "max_calls_per_hour": 3}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.runtime_data.code_lifetime.total_seconds() == 300


def frontend_initial_data(result: dict[str, Any]) -> dict[str, Any]:
    """Return what the frontend fills a form with before a person types anything.

    As Home Assistant 2026.10's frontend does (computeInitialHaFormData): a field's
    suggested value, else its default; a section without either is filled from its
    fields; a required text field without either starts empty.
    """

    def fill(fields: list[dict[str, Any]]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for field in fields:
            suggested = (field.get("description") or {}).get("suggested_value")
            if suggested is not None:
                data[field["name"]] = suggested
            elif "default" in field:
                data[field["name"]] = field["default"]
            elif field.get("type") == "expandable":
                inner = fill(field["schema"])
                if field.get("required") or inner:
                    data[field["name"]] = inner
            elif field.get("required"):
                data[field["name"]] = ""
        return data

    return fill(
        probatio.to_field_list(
            result["data_schema"], custom_serializer=cv.custom_serializer
        )
    )


def section_options(result: dict[str, Any]) -> dict[str, Any]:
    """Return how the form shows its advanced section."""
    return dict(result["data_schema"].schema["advanced"].options)


async def test_user_form_as_the_frontend_fills_it(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """Untouched, the collapsed section holds seven.io's URL; typing a key is enough."""
    aioclient_mock.get(BALANCE_URL, json={"amount": 1.0, "currency": "EUR"})
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    initial = frontend_initial_data(result)
    assert initial == {
        CONF_NAME: "seven.io",
        CONF_API_KEY: "",
        "advanced": {CONF_BASE_URL: "https://gateway.seven.io/api"},
    }
    assert section_options(result) == {"collapsed": True}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], initial | {CONF_API_KEY: API_KEY}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "seven.io"
    assert CONF_BASE_URL not in result["data"]
    assert str(aioclient_mock.mock_calls[0][1]) == BALANCE_URL


async def test_second_account_gets_its_own_name(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """The form proposes a name not yet taken; the name typed becomes the title."""
    aioclient_mock.get(BALANCE_URL, json={"amount": 1.0, "currency": "EUR"})
    titles = []
    for key in ("key-one-0123456789", "key-two-0123456789"):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_USER}
        )
        initial = frontend_initial_data(result)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], initial | {CONF_API_KEY: key}
        )
        titles.append(result["title"])
    assert titles == ["seven.io", "seven.io 2"]

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert frontend_initial_data(result)[CONF_NAME] == "seven.io 3"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_NAME: "  Office  ", CONF_API_KEY: "key-three-0123456789"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Office"


@pytest.mark.parametrize("typed", ["Office", " office ", "SEVEN.IO"])
async def test_name_of_another_account_is_refused(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, typed: str
) -> None:
    """Two accounts may not share a name: the form says so at the name, keeping it."""
    aioclient_mock.get(BALANCE_URL, json={"amount": 1.0, "currency": "EUR"})
    for title, key in (("seven.io", "key-one-0123456789"), ("Office", "key-two")):
        data = {CONF_API_KEY: key, CONF_WEBHOOK_ID: _unique_id(key)}
        MockConfigEntry(domain=DOMAIN, title=title, data=data).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    values = {CONF_NAME: typed, CONF_API_KEY: API_KEY}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], values)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_taken"}
    assert frontend_initial_data(result).items() >= values.items()
    assert aioclient_mock.call_count == 0

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], values | {CONF_NAME: "Home"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Home"


async def test_error_keeps_every_typed_value(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """After an error the form shows what was typed, the section open if it was changed."""
    aioclient_mock.get(f"{SIM_URL}/balance", text="900")
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    typed = {
        CONF_NAME: "Office",
        CONF_API_KEY: API_KEY,
        "advanced": {CONF_BASE_URL: SIM_URL},
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)
    assert result["errors"] == {"base": "invalid_auth"}
    assert frontend_initial_data(result) == typed
    assert section_options(result) == {"collapsed": False}

    # The flow recovers: with a key that works, the same dialog creates the entry.
    aioclient_mock.clear_requests()
    aioclient_mock.get(f"{SIM_URL}/balance", json={"amount": 1.0, "currency": "EUR"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BASE_URL] == SIM_URL


@pytest.mark.parametrize(
    "url",
    [
        "gateway.seven.io/api",
        "ftp://gateway.seven.io/api",
        "https://",
        "http://[x",
        # Plain http only to this machine (a simulator), never across a network.
        "http://gateway.seven.io/api",
        "http://192.168.1.20:8765/api",
    ],
)
async def test_gateway_url_must_be_a_web_address(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, url: str
) -> None:
    """A URL that is none says so, without a request."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY, "advanced": {CONF_BASE_URL: url}}
    )
    assert result["errors"] == {"advanced": "invalid_url"}
    assert aioclient_mock.call_count == 0

    # The flow recovers: seven.io's own gateway creates the entry.
    aioclient_mock.get(BALANCE_URL, json={"amount": 1.0, "currency": "EUR"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_reconfigure_shows_and_keeps_current_url(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """Reconfigure fills in the entry's gateway; submitted untouched, it stays."""
    aioclient_mock.get(f"{SIM_URL}/balance", json={"amount": 1.0, "currency": "EUR"})
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="x",
        data={
            CONF_API_KEY: API_KEY,
            CONF_WEBHOOK_ID: WEBHOOK_ID,
            CONF_BASE_URL: SIM_URL,
        },
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    initial = frontend_initial_data(result)
    assert initial == {CONF_API_KEY: "", "advanced": {CONF_BASE_URL: SIM_URL}}
    # Another gateway than seven.io's is shown, not hidden.
    assert section_options(result) == {"collapsed": False}

    ours = [our_hook(entry)]
    accounts(aioclient_mock, {API_KEY: ours, "new-key-0123456789": ours}, SIM_URL)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], initial | {CONF_API_KEY: "new-key-0123456789"}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_BASE_URL] == SIM_URL
    assert entry.data[CONF_API_KEY] == "new-key-0123456789"
    await hass.async_block_till_done()  # the reload it starts


async def test_success_text_names_what_is_checked_later(hass: HomeAssistant) -> None:
    """The user step and the success text say what a person needs."""
    strings = json.loads(
        (
            Path(__file__).parent.parent
            / "custom_components/callerid/translations/en.json"
        ).read_text()
    )["config"]
    description = strings["step"]["user"]["description"]
    for needed in ("credit", "validate_for_voice", "external URL", "Cloud"):
        assert needed in description
    assert "first validation" in strings["create_entry"]["default"]


async def test_reconfigure_same_key_other_gateway(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """The same key with another gateway URL: no duplicate check, the URL changes."""
    aioclient_mock.get(f"{SIM_URL}/balance", json={"amount": 1.0, "currency": "EUR"})
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=_unique_id(API_KEY),
        data={CONF_API_KEY: API_KEY, CONF_WEBHOOK_ID: WEBHOOK_ID},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY, "advanced": {CONF_BASE_URL: SIM_URL}}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_BASE_URL] == SIM_URL
    assert entry.unique_id == _unique_id(API_KEY)
    await hass.async_block_till_done()  # the reload it starts


# --- Another key: of the same seven.io account, or of another one ---

NEW_KEY = "new-key-0123456789"


def accounts(
    aioclient_mock: AiohttpClientMocker,
    listed: dict[str, list[dict[str, Any]]],
    gateway: str = GATEWAY,
) -> None:
    """Answer as seven.io does per key: each key's account lists its own hooks."""

    async def answer(method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        key = aioclient_mock.mock_calls[-1][3]["X-Api-Key"]
        hooks = listed.get(key, [])
        return AiohttpClientMockResponse(
            method, url, json={"success": True, "hooks": hooks}
        )

    aioclient_mock.clear_requests()
    aioclient_mock.get(f"{gateway}/balance", json={"amount": 1.0, "currency": "EUR"})
    aioclient_mock.get(f"{gateway}/hooks", side_effect=answer)
    aioclient_mock.delete(f"{gateway}/hooks", json={"success": True})


def our_hook(entry: MockConfigEntry) -> dict[str, Any]:
    """Return the entry's voice_status hook as seven.io lists it."""
    return hook("7", f"{EXTERNAL_URL}{hook_path(entry)}")


async def start_replace(
    hass: HomeAssistant, entry: MockConfigEntry, source: str
) -> Any:
    """Start reauth or reconfigure and submit NEW_KEY."""
    if source == "reauth":
        result = await entry.start_reauth_flow(hass)
    else:
        result = await entry.start_reconfigure_flow(hass)
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: NEW_KEY}
    )


def deleted_hooks(aioclient_mock: AiohttpClientMocker) -> list[tuple[str, str]]:
    """Return (key, hook id) of each hook deletion seven.io received."""
    return [
        (call[3]["X-Api-Key"], call[1].query["id"])
        for call in aioclient_mock.mock_calls
        if call[0] == "DELETE"
    ]


@pytest.mark.parametrize("source", ["reauth", "reconfigure"])
async def test_new_key_of_the_same_account_keeps_numbers(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    source: str,
) -> None:
    """seven.io lists the entry's hook under the new key too: same account, all stays."""
    entry = validated
    accounts(aioclient_mock, {API_KEY: [our_hook(entry)], NEW_KEY: [our_hook(entry)]})
    result = await start_replace(hass, entry, source)
    assert result["reason"] == f"{source}_successful"
    await hass.async_block_till_done()  # the reload
    assert entry.data[CONF_API_KEY] == NEW_KEY
    assert entry.unique_id == "account-1"  # the account's, as before
    assert hass.states.get(STATUS_ID).state == "validated"
    assert deleted_hooks(aioclient_mock) == []


@pytest.mark.parametrize("source", ["reauth", "reconfigure"])
async def test_key_of_another_account_validates_again(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    source: str,
) -> None:
    """Only the old key lists the hook: the dialog says what changes; it then does."""
    entry = validated
    accounts(aioclient_mock, {API_KEY: [our_hook(entry)]})
    result = await start_replace(hass, entry, source)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "other_account"
    assert result["description_placeholders"] == {"name": "seven.io"}
    assert entry.data[CONF_API_KEY] == API_KEY  # nothing changed yet

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["reason"] == f"{source}_successful"
    await hass.async_block_till_done()
    # The old account's hook is deleted with the key that made it.
    assert deleted_hooks(aioclient_mock) == [(API_KEY, "7")]
    assert entry.data[CONF_API_KEY] == NEW_KEY
    assert entry.unique_id == _unique_id(NEW_KEY)
    # The number claims nothing on an account that never validated it.
    assert hass.states.get(STATUS_ID).state == "failed"
    assert hass.states.get(ENTITY_ID).state == "off"


async def test_old_hook_not_deleted_changes_nothing(
    hass: HomeAssistant, validated: MockConfigEntry, aioclient_mock: AiohttpClientMocker
) -> None:
    """seven.io not deleting the old hook: the form says so, the entry stays as it is."""
    entry = validated
    accounts(aioclient_mock, {API_KEY: [our_hook(entry)]})
    aioclient_mock._mocks.pop()
    aioclient_mock.delete(HOOKS_URL, status=503)
    result = await start_replace(hass, entry, "reconfigure")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}
    assert entry.data[CONF_API_KEY] == API_KEY
    assert hass.states.get(STATUS_ID).state == "validated"


@pytest.mark.parametrize(
    ("choice", "status", "unique_id"),
    [("same_account", "validated", "account-1"), ("other_account", "failed", None)],
)
async def test_account_seven_cannot_tell_is_asked(
    hass: HomeAssistant,
    validated: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    choice: str,
    status: str,
    unique_id: str | None,
) -> None:
    """No hook under either key (no public URL): the person says which account it is."""
    entry = validated
    accounts(aioclient_mock, {})
    result = await start_replace(hass, entry, "reconfigure")
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["same_account", "other_account"]
    assert result["description_placeholders"] == {"name": "seven.io"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": choice}
    )
    if choice == "other_account":
        assert result["step_id"] == "other_account"
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.unique_id == (unique_id or _unique_id(NEW_KEY))
    assert hass.states.get(STATUS_ID).state == status
    assert deleted_hooks(aioclient_mock) == []


async def test_rotated_key_cannot_be_added_twice(
    hass: HomeAssistant, validated: MockConfigEntry, aioclient_mock: AiohttpClientMocker
) -> None:
    """After a new key of the same account, that key is refused for a second entry."""
    entry = validated
    accounts(aioclient_mock, {API_KEY: [our_hook(entry)], NEW_KEY: [our_hook(entry)]})
    await start_replace(hass, entry, "reauth")
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Office", CONF_API_KEY: NEW_KEY}
    )
    assert result["errors"] == {CONF_API_KEY: "already_configured"}


async def test_reconfigure_without_retyping_the_key(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """An empty key field keeps the key: only the gateway URL changes."""
    aioclient_mock.get(f"{SIM_URL}/balance", json={"amount": 1.0, "currency": "EUR"})
    entry = init_integration
    result = await entry.start_reconfigure_flow(hass)
    assert result["description_placeholders"] == {"name": "seven.io"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"advanced": {CONF_BASE_URL: SIM_URL}}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_API_KEY] == API_KEY
    assert entry.data[CONF_BASE_URL] == SIM_URL
    await hass.async_block_till_done()


async def test_dialogs_name_the_account(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Reauth and options say which account they are about."""
    result = await init_integration.start_reauth_flow(hass)
    assert result["description_placeholders"] == {"name": "seven.io"}
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["description_placeholders"] == {"name": "seven.io"}


async def test_reauth_shows_gateway_errors_at_the_top(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """Reauth has no gateway field: what is about the gateway shows above the form."""
    aioclient_mock.clear_requests()
    aioclient_mock.get(BALANCE_URL, text="<html>")
    result = await init_integration.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: NEW_KEY}
    )
    assert result["errors"] == {"base": "not_seven"}
