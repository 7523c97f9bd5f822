"""Shared fixtures of the callerid tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import itertools
from typing import Any
from unittest.mock import patch

# Imported first: the test plugin puts a `custom_components` package of its own on
# sys.path when Home Assistant starts, and ours must be the one that is found.
import custom_components.callerid  # noqa: F401  # isort: skip

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from syrupy.assertion import SnapshotAssertion
from yarl import URL

from custom_components.callerid.const import (
    CONF_BASE_URL,
    DOMAIN,
    SERVICE_CALL,
    SERVICE_VALIDATE,
)
from homeassistant.components import automation
from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.storage import Store
from homeassistant.setup import async_setup_component
from homeassistant.util.file import WriteError

API_KEY = "test-api-key-0123456789"
WEBHOOK_ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
GATEWAY = "https://gateway.seven.io/api"
BALANCE_URL = f"{GATEWAY}/balance"
VALIDATE_URL = f"{GATEWAY}/validate_for_voice"
HOOKS_URL = f"{GATEWAY}/hooks"
VOICE_URL = f"{GATEWAY}/voice"
JOURNAL_URL = f"{GATEWAY}/journal/voice"
ANALYTICS_URL = f"{GATEWAY}/analytics/date"
EXTERNAL_URL = "https://home.example.org"
# A gateway simulator on this machine, as the end-to-end tests run one.
LOCAL_GATEWAY = "http://127.0.0.1:8765/api"
NUMBER = "+4917612345678"
ENTRY_ID = "01JCALLERIDENTRY000000000"
# The entities of NUMBER.
ENTITY_ID = "binary_sensor.49_176_12345678_caller_id"
STATUS_ID = "sensor.49_176_12345678_status"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components."""


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Give each test its own config directory: some tests use the real files."""
    return hass_tmp_config_dir


@pytest.fixture(autouse=True)
async def core_config(hass: HomeAssistant) -> None:
    """Give Home Assistant a country and an external URL, as a real install has."""
    await async_process_ha_core_config(
        hass, {"country": "DE", "external_url": EXTERNAL_URL}
    )


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """Return a config entry of one seven.io account."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="seven.io",
        unique_id="account-1",
        data={CONF_API_KEY: API_KEY, CONF_WEBHOOK_ID: WEBHOOK_ID},
        entry_id=ENTRY_ID,
    )


@pytest.fixture
def local_gateway_entry(aioclient_mock: AiohttpClientMocker) -> MockConfigEntry:
    """Return an entry whose gateway is the simulator: key check and hooks answered."""
    aioclient_mock.get(
        f"{LOCAL_GATEWAY}/balance", json={"amount": 1, "currency": "EUR"}
    )
    aioclient_mock.get(f"{LOCAL_GATEWAY}/hooks", json={"success": True, "hooks": []})
    aioclient_mock.post(f"{LOCAL_GATEWAY}/hooks", json={"success": True, "id": 42})
    aioclient_mock.get(f"{LOCAL_GATEWAY}/analytics/date", json=[])
    # Ids of its own: it may be set up beside mock_config_entry.
    return MockConfigEntry(
        domain=DOMAIN,
        title="Simulator",
        unique_id="account-sim",
        data={
            CONF_API_KEY: "sim-api-key-0123456789",
            CONF_WEBHOOK_ID: "a" * 64,
            CONF_BASE_URL: LOCAL_GATEWAY,
        },
        entry_id="01JCALLERIDSIMULATOR00000",
    )


@pytest.fixture(autouse=True)
def hooks(aioclient_mock: AiohttpClientMocker) -> AiohttpClientMocker:
    """Answer the hook check that every loaded entry makes: no hooks yet, one created.

    The voice journal, asked after a restart while calls were ringing, lists none.
    A test that wants other answers clears the mocks first (the first match wins).
    """
    aioclient_mock.get(HOOKS_URL, json={"success": True, "hooks": []})
    aioclient_mock.post(HOOKS_URL, json={"success": True, "id": 42})
    aioclient_mock.get(JOURNAL_URL, json=[])
    aioclient_mock.get(ANALYTICS_URL, json=[])
    return aioclient_mock


def answer_from_now_on(
    aioclient_mock: AiohttpClientMocker, url: str, **answer: Any
) -> None:
    """Make seven.io answer GET `url` so from now on, the rest as a loaded entry needs.

    The other answers: the balance, no hooks yet (one created), an empty journal,
    nothing spent.
    """
    aioclient_mock.clear_requests()
    aioclient_mock.get(url, **answer)  # the first match wins
    aioclient_mock.get(BALANCE_URL, json={"amount": 12.34, "currency": "EUR"})
    aioclient_mock.get(HOOKS_URL, json={"success": True, "hooks": []})
    aioclient_mock.post(HOOKS_URL, json={"success": True, "id": 42})
    aioclient_mock.get(JOURNAL_URL, json=[])
    aioclient_mock.get(ANALYTICS_URL, json=[])


@pytest.fixture
def gateway(aioclient_mock: AiohttpClientMocker) -> AiohttpClientMocker:
    """Answer the key check as seven.io does for a working key."""
    aioclient_mock.get(BALANCE_URL, json={"amount": 12.34, "currency": "EUR"})
    return aioclient_mock


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    gateway: AiohttpClientMocker,
) -> MockConfigEntry:
    """Set up the integration with one entry."""
    assert await async_setup_component(hass, "persistent_notification", {})
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
async def pending(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> URL:
    """Start a validation of NUMBER and return its callback path with token."""
    return await start_validation(hass, aioclient_mock)


def answer_validation(aioclient_mock: AiohttpClientMocker, **kwargs: Any) -> None:
    """Make the gateway answer the next validate_for_voice request."""
    aioclient_mock.post(VALIDATE_URL, **kwargs)


# seven.io's callback parameters for a validated NUMBER (the token goes on top).
SEVEN_OK = {
    "id": "12345",
    "sender": "4917612345678",
    "formatted_output": "+49 176 12345678",
    "success": "1",
    "error": "",
    "voice": "1",
}
# The same when the person typed a wrong code.
SEVEN_WRONG_CODE = SEVEN_OK | {"success": "0", "error": "Wrong code"}


async def call_validate(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call callerid.validate and return its response data."""
    response = await hass.services.async_call(
        DOMAIN, SERVICE_VALIDATE, data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def start_validation(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    number: str = NUMBER,
    code: str = "123456",
) -> URL:
    """Start a validation that gets a code; return its callback path with token."""
    answer_validation(aioclient_mock, json={"success": True, "code": code})
    await call_validate(hass, number=number)
    return callback_path(aioclient_mock)


def validate_calls(aioclient_mock: AiohttpClientMocker) -> list[tuple[Any, ...]]:
    """Return the validate_for_voice requests the gateway received."""
    return [call for call in aioclient_mock.mock_calls if str(call[1]) == VALIDATE_URL]


def callback_path(aioclient_mock: AiohttpClientMocker) -> URL:
    """Return the path and query of the callback URL sent with the last validation."""
    callback = URL(validate_calls(aioclient_mock)[-1][2]["callback"])
    assert str(callback).startswith(f"{EXTERNAL_URL}/api/webhook/")
    return URL.build(path=callback.path, query=callback.query)


RECIPIENT = "+4930123456"
ALREADY = {"id": 12345, "success": True, "voice": True, "error": None}


def voice_answer(
    *, success: bool = True, error: str | None = None
) -> Callable[[str, URL, Any], Any]:
    """Answer each voice request as seven.io does, with a call id of its own."""
    ids = itertools.count(900000001)

    async def answer(method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        row = {
            "id": str(next(ids)) if success else None,
            "sender": data["from"],
            "recipient": data["to"].removeprefix("+"),
            "text": data["text"],
            "price": 0.045 if success else 0,
            "success": success,
            "error": None if success else "201",
            "error_text": error,
        }
        return AiohttpClientMockResponse(
            method,
            url,
            json={
                "success": "100" if success else "101",
                "total_price": row["price"],
                "balance": 12.3,
                "debug": False,
                "messages": [row],
            },
        )

    return answer


def voice_calls(aioclient_mock: AiohttpClientMocker) -> list[dict[str, Any]]:
    """Return the forms of the voice requests the gateway received."""
    return [call[2] for call in aioclient_mock.mock_calls if str(call[1]) == VOICE_URL]


async def call(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call callerid.call and return its response data."""
    response = await hass.services.async_call(
        DOMAIN, SERVICE_CALL, data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


@pytest.fixture
async def validated(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> MockConfigEntry:
    """Return the entry with NUMBER validated (seven.io knew it already)."""
    answer_validation(aioclient_mock, json=ALREADY)
    await call_validate(hass, number=NUMBER)
    return init_integration


@pytest.fixture
async def placed(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> str:
    """Validate NUMBER and place one call from it; return the call id."""
    answer_validation(aioclient_mock, json=ALREADY)
    await call_validate(hass, number=NUMBER)
    aioclient_mock.post(VOICE_URL, side_effect=voice_answer())
    response = await call(hass, caller_id=NUMBER, to=RECIPIENT, message="Hello")
    return str(response["calls"][0]["call_id"])


# Store's own methods, before the test harness replaces them with a dict in memory.
_REAL_STORE = {
    name: getattr(Store, name)
    for name in ("_async_load", "_async_write_data", "async_remove")
}


def disk_full() -> Any:
    """Make every write of a Store fail, as a full disk would (Store logs it)."""
    return patch.object(
        Store, "_async_write_data", side_effect=WriteError("No space left on device")
    )


@pytest.fixture
def real_storage(hass_storage: dict[str, Any]) -> Iterator[None]:
    """Let Store read and write the test's config directory, as on a real install."""
    with contextlib.ExitStack() as stack:
        for name, method in _REAL_STORE.items():
            stack.enter_context(patch.object(Store, name, method))
        yield


async def set_up_automation(
    hass: HomeAssistant, trigger: str, options: dict[str, Any], data: dict[str, str]
) -> list[ServiceCall]:
    """Set up an automation with one of our triggers; return its action's calls."""
    # A callback service: a plain function would run in the executor, out of order.
    calls = async_mock_service(hass, "test", "record")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "triggers": {"trigger": f"{DOMAIN}.{trigger}", "options": options},
                "actions": {"action": "test.record", "data": data},
            }
        },
    )
    return calls


class Persisted:
    """What a restart would read: the entry's storage file."""

    def __init__(self, hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
        """Look at the file of the test entry."""
        self._storage = hass_storage
        self.key = f"{DOMAIN}.{ENTRY_ID}"

    def raw(self) -> str:
        """Return everything written down, to compare or to search for secrets."""
        return repr(self._storage.get(self.key))

    def data(self) -> dict[str, Any]:
        """Return what the file holds."""
        return self._storage.get(self.key, {"data": {}})["data"]

    def numbers(self) -> dict[str, dict[str, Any]]:
        """Return the stored records by number."""
        return {item["number"]: item for item in self.data().get("numbers", [])}

    def calls(self) -> dict[str, dict[str, Any]]:
        """Return the stored calls by id."""
        return {item["call_id"]: item for item in self.data().get("calls", [])}

    def statuses(self) -> dict[str, str]:
        """Return the stored status of each number."""
        return {number: item["status"] for number, item in self.numbers().items()}


@pytest.fixture
def persisted(hass: HomeAssistant, hass_storage: dict[str, Any]) -> Persisted:
    """Return what is on disk for the test entry."""
    return Persisted(hass, hass_storage)


async def snapshot_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    entry_id: str,
    domain: str,
) -> None:
    """Snapshot the registry entry and state of each of the entry's entities of `domain`."""
    entries = [
        entity
        for entity in er.async_entries_for_config_entry(entity_registry, entry_id)
        if entity.domain == domain
    ]
    assert entries
    for entity in sorted(entries, key=lambda entity: entity.entity_id):
        assert entity == snapshot(name=f"{entity.entity_id}-entry")
        state = hass.states.get(entity.entity_id)
        assert state == snapshot(name=f"{entity.entity_id}-state")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures the hardening tests measured."""
    from .figures import FIGURES  # noqa: PLC0415

    if FIGURES:
        terminalreporter.section("callerid figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
