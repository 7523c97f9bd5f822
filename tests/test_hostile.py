"""The callback never lies, no validation is lost, no phone rings twice: with figures."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import random
import time
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from hypothesis import HealthCheck, given, settings, strategies as st
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

from custom_components.callerid import async_remove_config_entry_device
from custom_components.callerid.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .conftest import (
    ENTITY_ID,
    NUMBER,
    SEVEN_OK,
    STATUS_ID,
    Persisted,
    answer_validation,
    call_validate,
    callback_path,
    validate_calls,
)
from .figures import report


@pytest.fixture
async def client(hass_client_no_auth: ClientSessionGenerator) -> TestClient:
    """Return one HTTP client to Home Assistant's real HTTP app."""
    return await hass_client_no_auth()


# -- property-based: generated callbacks never change state, never raise ------------

_ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",))
_ONE_FIELD_WRONG: dict[str, st.SearchStrategy[str]] = {
    "token": st.one_of(
        st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
            min_size=16,
            max_size=128,
        ),
        st.text(_ALPHABET, max_size=200),
    ),
    "sender": st.one_of(
        st.integers(min_value=0, max_value=12).map(
            lambda i: (
                "4917612345678"[:i]
                + str((int("4917612345678"[i]) + 1) % 10)
                + "4917612345678"[i + 1 :]
            )
        ),
        st.from_regex(r"\A\+?[0-9]{1,20}\Z"),
        st.text(_ALPHABET, max_size=60),
    ),
    "success": st.text(_ALPHABET, max_size=5).filter(lambda v: v not in ("0", "1")),
    "voice": st.text(_ALPHABET, max_size=5).filter(lambda v: v not in ("0", "1")),
    "id": st.text(_ALPHABET, min_size=1, max_size=40).filter(
        lambda v: not v.isascii() or not v.isdigit() or len(v) > 18
    ),
    "formatted_output": st.text(_ALPHABET, min_size=65, max_size=300),
    "error": st.text(_ALPHABET, min_size=257, max_size=600),
}

_counts = {"inputs": 0, "refused": 0}


@st.composite
def hostile_query(draw: st.DrawFn, token: str) -> list[tuple[str, str]]:
    """Draw a query: random junk, or seven.io's parameters with exactly one field wrong."""
    kind = draw(st.sampled_from(["junk", "one_wrong", "one_missing", "repeated"]))
    valid = SEVEN_OK | {"token": token}
    if kind == "junk":
        return draw(
            st.lists(
                st.tuples(
                    st.text(_ALPHABET, max_size=20), st.text(_ALPHABET, max_size=80)
                ),
                max_size=10,
            )
        )
    if kind == "one_missing":
        missing = draw(st.sampled_from(["token", "sender", "success"]))
        return [(k, v) for k, v in valid.items() if k != missing]
    if kind == "repeated":
        key = draw(st.sampled_from(list(valid)))
        return [*valid.items(), (key, draw(st.text(_ALPHABET, max_size=10)))]
    field = draw(st.sampled_from(list(_ONE_FIELD_WRONG)))
    value = draw(_ONE_FIELD_WRONG[field])
    if field == "token" and value == token:
        value = value[::-1] + "x"
    return list((valid | {field: value}).items())


@settings(
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_generated_callbacks_change_nothing(
    hass: HomeAssistant,
    pending: URL,
    client: TestClient,
    persisted: Persisted,
    data: st.DataObject,
) -> None:
    """Thousands of generated callbacks: each refused with 4xx, none changes state."""
    token = pending.query["token"]
    pairs = data.draw(hostile_query(token))
    stored = persisted.raw()
    method = data.draw(st.sampled_from(["GET", "POST"]))
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    if method == "GET":
        response = await client.get(URL(f"{pending.path}?{query}", encoded=True))
    else:
        response = await client.post(
            pending.path,
            data=query.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    _counts["inputs"] += 1
    assert 400 <= response.status < 500, pairs
    _counts["refused"] += 1
    state = hass.states.get(ENTITY_ID)
    assert state is not None
    assert hass.states.get(STATUS_ID).state == "pending"
    assert persisted.raw() == stored
    report(
        "property-based callbacks",
        f"{_counts['inputs']} generated inputs, {_counts['refused']} refused with 4xx, "
        "0 state changes, 0 exceptions",
    )


# -- forgery table ----------------------------------------------------------------------


async def test_forgery_table(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    client: TestClient,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Each forgery is refused; formatting of the sender does not matter, one digit does."""
    answer_validation(aioclient_mock, json={"success": True, "code": "123456"})
    other = "+4930123456"
    await call_validate(hass, number=other)
    other_path = callback_path(aioclient_mock)
    await call_validate(hass, number=NUMBER)
    path = callback_path(aioclient_mock)
    token = path.query["token"]
    hook = URL.build(path=path.path)

    async def status(params: dict[str, str], base: URL = hook) -> int:
        return (await client.get(base.update_query(params))).status

    table: list[tuple[str, Callable[[], Awaitable[int]], int]] = [
        ("no token", lambda: status(SEVEN_OK), 400),
        ("wrong token", lambda: status(SEVEN_OK | {"token": "Z" * 43}), 403),
        (
            "token of another number",
            lambda: status(SEVEN_OK | {"token": other_path.query["token"]}),
            403,
        ),
        (
            "sender one digit off",
            lambda: status(SEVEN_OK | {"token": token, "sender": "4917612345679"}),
            403,
        ),
    ]
    refused = 0
    for name, attempt, expected in table:
        assert await attempt() == expected, name
        assert hass.states.get(STATUS_ID).state == "pending", name
        refused += 1

    # Formatting only: accepted.
    assert (
        await status(SEVEN_OK | {"token": token, "sender": "+49 (176) 1234-5678"})
        == 200
    )
    assert hass.states.get(ENTITY_ID).state == "on"
    # Replayed token: refused, state kept.
    assert await status(SEVEN_OK | {"token": token, "success": "0"}) == 403
    assert hass.states.get(ENTITY_ID).state == "on"
    refused += 1

    # Expired token.
    freezer.tick(16 * 60)
    assert (
        await status(
            SEVEN_OK | {"token": other_path.query["token"], "sender": "4930123456"}
        )
        == 403
    )
    refused += 1

    # Token of a removed number.
    freezer.tick(60)
    await call_validate(hass, number="+4930654321")
    removed_path = callback_path(aioclient_mock)
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{init_integration.entry_id}_+4930654321"), init_integration.entry_id
    )
    assert await async_remove_config_entry_device(hass, init_integration, device)
    assert (
        await status(dict(removed_path.query) | SEVEN_OK | {"sender": "4930654321"})
        == 403
    )
    refused += 1
    report(
        "forgeries",
        f"{refused} of {refused} forged callbacks refused; formatting-only sender accepted",
    )


# -- fault matrix -------------------------------------------------------------------------

FAULTS: list[tuple[str, dict[str, Any], str]] = [
    ("timeout", {"exc": TimeoutError()}, "timeout"),
    (
        "connection reset",
        {"exc": aiohttp.ClientOSError(104, "Connection reset by peer")},
        "cannot_connect",
    ),
    ("HTTP 503", {"status": 503}, "gateway_unavailable"),
    ("900 wrong key", {"text": "900"}, "auth_failed"),
    ("902 missing scope", {"text": "902"}, "missing_scope"),
    ("500 no credit", {"text": "500"}, "insufficient_credit"),
    ("non-JSON", {"text": "<html>Bad gateway</html>"}, "unexpected_response"),
    ("empty body", {"text": ""}, "unexpected_response"),
    ("JSON without success", {"json": {"code": "123456"}}, "unexpected_response"),
]


async def test_fault_matrix(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    persisted: Persisted,
) -> None:
    """Each gateway fault: its own translated error, no state, exactly one request."""
    survived = []
    for name, answer, key in FAULTS:
        aioclient_mock.clear_requests()
        answer_validation(aioclient_mock, **answer)
        with pytest.raises(HomeAssistantError) as raised:
            await call_validate(hass, number=NUMBER)
        assert raised.value.translation_key == key, name
        assert str(raised.value), name
        assert "{" not in str(raised.value), name
        assert len(validate_calls(aioclient_mock)) == 1, name
        assert hass.states.get(ENTITY_ID) is None, name
        assert persisted.numbers() == {}, name
        survived.append(name)
    assert len({key for _, _, key in FAULTS}) == 7
    report(
        "fault matrix",
        f"{len(survived)} of {len(FAULTS)} gateway faults survived: "
        + ", ".join(survived),
    )


# -- load ---------------------------------------------------------------------------------


async def test_load_500_callbacks(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    client: TestClient,
    persisted: Persisted,
) -> None:
    """500 numbers, callbacks concurrent in random order, some twice: each validated once."""
    answer_validation(aioclient_mock, json={"success": True, "code": "123456"})
    numbers = [f"+49151{i:08d}" for i in range(500)]
    paths = {}
    for number in numbers:
        await call_validate(hass, number=number)
        paths[number] = callback_path(aioclient_mock)
    events = async_capture_events(hass, f"{DOMAIN}_validation_completed")

    rng = random.Random(20261127)  # noqa: S311 - a reproducible order, not a secret
    requests = [(number, paths[number]) for number in numbers]
    requests += rng.sample(requests, 100)  # sent twice, as a retrying gateway might
    rng.shuffle(requests)

    async def call(number: str, path: URL) -> int:
        query = SEVEN_OK | {
            "sender": number.removeprefix("+"),
            "formatted_output": number,
        }
        return (await client.get(path.update_query(query))).status

    started = time.perf_counter()
    statuses = await asyncio.gather(*(call(number, path) for number, path in requests))
    elapsed = time.perf_counter() - started
    await hass.async_block_till_done()

    assert statuses.count(200) == 500
    assert statuses.count(403) == 100
    assert sorted(event.data["number"] for event in events) == sorted(numbers)
    registry = er.async_get(hass)
    for number in numbers:
        entity_id = registry.async_get_entity_id(
            "binary_sensor", DOMAIN, f"{init_integration.entry_id}_{number}_validated"
        )
        assert entity_id is not None, number
        state = hass.states.get(entity_id)
        assert state is not None, number
        assert state.state == "on", number

    before = persisted.statuses()
    assert set(before.values()) == {"validated"}
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    after = persisted.statuses()
    assert after == before
    on = [s for s in hass.states.async_all("binary_sensor") if s.state == "on"]
    assert len(on) == 500
    report(
        "callbacks under load",
        f"{len(requests)} concurrent callbacks for 500 numbers (100 repeated) in {elapsed:.2f} s "
        f"({len(requests) / elapsed:.0f}/s in the test harness): 500 validated once, "
        "100 repeats refused, 500 events, store reloaded identical",
    )
