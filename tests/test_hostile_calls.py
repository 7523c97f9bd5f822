"""The call webhook trusts nothing, and the hourly guard holds under load: with figures."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.callerid.const import CONF_CALL_WEBHOOK_ID, DOMAIN
from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError

from .conftest import NUMBER, RECIPIENT, call, voice_calls
from .figures import report
from .test_call_status import LAST_CALL_ID, event, hook_path

_ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(_ALPHABET, max_size=40),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(_ALPHABET, max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
_counts = {"inputs": 0, "refused": 0}


@st.composite
def hostile_event(draw: st.DrawFn, call_id: str) -> bytes:
    """Draw a body: junk, any JSON, or seven.io's event with one field wrong."""
    kind = draw(st.sampled_from(["junk", "json", "one_wrong", "other_call"]))
    if kind == "junk":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(_JSON)).encode()
    body = event(call_id)
    if kind == "other_call":
        other = draw(st.from_regex(r"\A[0-9]{1,12}\Z"))
        body["data"]["id"] = other if other != call_id else f"{other}0"
    else:
        field = draw(st.sampled_from(["webhook_event", "id", "status", "duration"]))
        value = draw(_JSON.filter(lambda v: v not in ("voice_status", call_id)))
        if field == "webhook_event":
            body["webhook_event"] = value
        else:
            body["data"][field] = value
        readable = isinstance(value, (str, int)) or (field == "duration" and not value)
        if field in ("status", "duration") and readable:
            # A word or number that reads as valid (a duration also when empty or
            # null, as seven.io sends it) is a valid end: keep it invalid.
            body["data"]["id"] = f"x{call_id}"
    return json.dumps(body).encode()


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_generated_events_change_nothing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    hass_client_no_auth: ClientSessionGenerator,
    data: st.DataObject,
) -> None:
    """Generated bodies: refused with 4xx, or taken in as an update before the end.

    An update (seven.io's ringing) gets 200; never an event, the call still ringing.
    """
    client: TestClient = await hass_client_no_auth()
    events: list[Any] = []

    @callback
    def _ended(event: Any) -> None:
        # A callback: a plain function would run in the executor, after the assertions.
        events.append(event)

    remove = hass.bus.async_listen(f"{DOMAIN}_call_ended", _ended)
    body = data.draw(hostile_event(placed))
    response = await client.post(
        hook_path(init_integration),
        data=body,
        headers={"Content-Type": "application/json"},
    )
    await hass.async_block_till_done()
    remove()
    _counts["inputs"] += 1
    assert response.status == 200 or 400 <= response.status < 500, body
    _counts["refused"] += response.status != 200
    assert events == []
    assert hass.states.get(LAST_CALL_ID).state == "calling"
    report(
        "property-based call events",
        f"{_counts['inputs']} generated bodies, {_counts['refused']} refused with 4xx, "
        "0 events, 0 state changes",
    )


async def test_other_entrys_call_is_refused(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    hass_client_no_auth: ClientSessionGenerator,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """A call of one account is unknown to the other account's webhook."""
    other = MockConfigEntry(
        domain=DOMAIN,
        title="Office",
        unique_id="account-2",
        data={
            CONF_API_KEY: "other-key-0123456789",
            CONF_WEBHOOK_ID: "e" * 64,
            CONF_CALL_WEBHOOK_ID: "d" * 64,
        },
    )
    other.add_to_hass(hass)
    assert await hass.config_entries.async_setup(other.entry_id)
    await hass.async_block_till_done()
    client = await hass_client_no_auth()
    assert (await client.post(hook_path(other), json=event(placed))).status == 403
    assert hass.states.get(LAST_CALL_ID).state == "calling"
    assert (
        await client.post(hook_path(init_integration), json=event(placed))
    ).status == 200


async def test_guard_holds_under_a_burst(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    placed: str,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """100 concurrent actions against a limit of 20 an hour: 20 calls, the rest refused."""
    already = len(voice_calls(aioclient_mock))

    async def one() -> str:
        try:
            await call(hass, caller_id=NUMBER, to=RECIPIENT, message="Burst")
        except ServiceValidationError as err:
            return str(err.translation_key)
        return "placed"

    outcomes = await asyncio.gather(*(one() for _ in range(100)))
    placed_now = outcomes.count("placed")
    assert placed_now == 20 - already
    assert outcomes.count("call_limit") == 100 - placed_now
    assert len(voice_calls(aioclient_mock)) == 20
    report(
        "hourly call guard",
        f"limit 20 an hour, {already} call placed before, 100 concurrent actions: "
        f"{placed_now} placed, {outcomes.count('call_limit')} refused naming the limit",
    )
