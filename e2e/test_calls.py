"""callerid.call end to end: a real Home Assistant, the gateway simulator, seven.io's events.

A number is validated, calls are placed from it, and the simulator ends them and POSTs
seven.io's `voice_status` event to the hook the entry created; the event, the Last call
sensor and the blueprint "Call until someone answers" react. Hostile events are
counted in `test-artifacts/calls-figures.txt`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
import contextlib
import json
import shutil
import time
from typing import Any

import aiohttp
import pytest

from callerid_dev.gateway_sim import ALL_SCOPES, Simulator
from callerid_dev.harness import PROJECT, HassClient, HassProcess

from .conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

NUMBER = "+4917612345678"
CALLER_ID = "binary_sensor.49_176_12345678_caller_id"
LAST_CALL = "sensor.49_176_12345678_last_call"
BALANCE = "sensor.seven_io_balance"
SPENT = "sensor.seven_io_spent_today"
OTHER_NUMBER = "+4930123456"
OTHER_CALLER_ID = "binary_sensor.49_30_123456_caller_id"
OTHER_LAST_CALL = "sensor.49_30_123456_last_call"
# International format without spaces, as the integration writes numbers; one abroad.
PEOPLE = ["+4917611111111", "+33612345678", "+4940123456"]
ALARM = "The alarm went off. Please check the house."
ENDED = "callerid_call_ended"
PLACED = "callerid_call_placed"
BLUEPRINT = (
    PROJECT / "blueprints" / "automation" / "callerid" / "call_until_answered.yaml"
)
FIGURES = ARTIFACTS / "calls-figures.txt"
# The longest any single step may take; the blueprint's own wait is longer, so a
# blueprint that missed an event shows here instead of after its timeout.
STEP = 30.0


def digits(number: str) -> str:
    """Return a number as seven.io keeps it: international digits, no +."""
    return number.removeprefix("+")


async def sim_post(
    http: aiohttp.ClientSession, sim_url: str, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    """POST to one of the simulator's control endpoints."""
    async with http.post(f"{sim_url}/_sim/{path}", json=body) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def sim_state(http: aiohttp.ClientSession, sim_url: str) -> dict[str, Any]:
    """Return what the simulator has seen and holds."""
    async with http.get(f"{sim_url}/_sim/state") as response:
        assert response.status == 200
        return dict(await response.json())


async def end_call(
    http: aiohttp.ClientSession,
    sim_url: str,
    call_id: str,
    *,
    status: str,
    duration: int,
) -> dict[str, Any]:
    """End a placed call at the simulator; check its hook took the voice_status event."""
    ended = await sim_post(
        http,
        sim_url,
        "end_call",
        {"call_id": call_id, "status": status, "duration": str(duration)},
    )
    assert list(ended["events"].values()) == [[200]], ended
    return ended


async def poll(probe: Callable[[], Any], what: str, within: float = STEP) -> Any:
    """Await `probe()` until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        if result := await probe():
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {within:.0f} s for {what}")
        await asyncio.sleep(0.1)


async def calls_from(
    http: aiohttp.ClientSession, sim_url: str, number: str
) -> list[dict[str, Any]]:
    """Return the calls the simulator placed from `number`, in the order placed."""
    calls = (await sim_state(http, sim_url))["calls"].values()
    return sorted(
        (c for c in calls if c["sender"] == digits(number)),
        key=lambda c: int(c["call_id"]),
    )


async def voice_status_hooks(
    http: aiohttp.ClientSession, sim_url: str, key: str
) -> list[dict[str, Any]]:
    """Return the voice_status hooks of an API key at the simulator."""
    return [
        hook
        for hook in (await sim_state(http, sim_url))["hooks"]
        if hook["key"] == key and hook["event_type"] == "voice_status"
    ]


class Events:
    """Home Assistant events of one type, as a websocket subscription receives them."""

    def __init__(self, http: aiohttp.ClientSession, client: HassClient) -> None:
        """Listen to `client`'s instance."""
        self._http = http
        self._client = client
        self.received: list[dict[str, Any]] = []
        self.kinds: list[str] = []
        self._arrived = asyncio.Event()

    @contextlib.asynccontextmanager
    async def subscribe(
        self, event_type: str = ENDED, *more: str
    ) -> AsyncIterator[Events]:
        """Receive events of these types until the block ends."""
        async with self._http.ws_connect(f"{self._client.url}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": self._client.token})
            assert (await ws.receive_json())["type"] == "auth_ok"
            for msg_id, kind in enumerate((event_type, *more), start=1):
                await ws.send_json(
                    {"id": msg_id, "type": "subscribe_events", "event_type": kind}
                )
                assert (await ws.receive_json())["success"] is True
            reader = asyncio.create_task(self._read(ws))
            try:
                yield self
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if data.get("type") == "event":
                self.kinds.append(data["event"]["event_type"])
                self.received.append(data["event"]["data"])
                self._arrived.set()

    async def wait_for(
        self, call_id: str, kind: str = ENDED, within: float = STEP
    ) -> dict[str, Any]:
        """Return the `kind` event about `call_id`, waiting at most `within` seconds."""
        async with asyncio.timeout(within):
            while True:
                for event_type, data in zip(self.kinds, self.received, strict=True):
                    if event_type == kind and data["call_id"] == call_id:
                        return data
                self._arrived.clear()
                await self._arrived.wait()


async def validate(
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    sim_url: str,
    number: str,
    caller_id: str,
    *,
    entry_id: str | None = None,
) -> None:
    """Validate `number` through callerid.validate and the simulator's keypad."""
    body = {"number": number}
    if entry_id is not None:
        body["config_entry_id"] = entry_id
    result = await hass_api.request(
        "POST", "/api/services/callerid/validate?return_response", body
    )
    code = result["service_response"]["code"]
    answer = await sim_post(http, sim_url, "keypad", {"number": number, "digits": code})
    assert answer["validated"] is True
    assert answer["callback"] == [200]
    await hass_api.wait_for_state(caller_id, "on")


async def place_call(
    hass_api: HassClient, caller_id: str, to: str | list[str], **extra: Any
) -> dict[str, Any]:
    """Run callerid.call and return its response."""
    result = await hass_api.request(
        "POST",
        "/api/services/callerid/call?return_response",
        {"caller_id": caller_id, "to": to, "message": "The alarm went off."} | extra,
    )
    return dict(result["service_response"])


async def set_options(hass_api: HassClient, entry_id: str, **options: Any) -> None:
    """Store options as the options dialog sends them; wait for the entry's reload."""
    flow = await hass_api.request(
        "POST", "/api/config/config_entries/options/flow", {"handler": entry_id}
    )
    await hass_api.request(
        "POST",
        f"/api/config/config_entries/options/flow/{flow['flow_id']}",
        {"code_lifetime": 15, "cooldown": 60, "max_calls_per_hour": 20} | options,
    )

    async def reloaded() -> bool:
        return await entry_state(hass_api, entry_id) == "loaded"

    # The reload started before the answer (an eager task): loaded means reloaded.
    await poll(reloaded, "the entry's reload")


async def hang_up(hass_api: HassClient, caller_id: str) -> dict[str, Any]:
    """Run callerid.hang_up for every call from `caller_id`; return its response."""
    result = await hass_api.request(
        "POST",
        "/api/services/callerid/hang_up?return_response",
        {"caller_id": caller_id},
    )
    return dict(result["service_response"])


async def restart(hass_process: HassProcess, hass_api: HassClient) -> None:
    """SIGKILL Home Assistant and start it again on the same configuration."""
    hass_process.kill()
    await hass_process.start()
    await hass_api.login()
    await hass_api.wait_until_running()


REPORTED: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _report_figures(request: pytest.FixtureRequest) -> Iterator[None]:
    """Show the figures at the end of the module, whether or not output is captured."""
    yield
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None or not REPORTED:
        return
    with (
        capture.global_and_fixture_disabled()
        if capture is not None
        else contextlib.nullcontext()
    ):
        reporter.write_line("")
        for line in REPORTED:
            reporter.write_line(f"callerid.call figures: {line}")


def record_figures(name: str, figures: dict[str, Any]) -> str:
    """Write one line of figures to calls-figures.txt (replacing that test's line)."""
    line = f"{name}: " + ", ".join(f"{key} {value}" for key, value in figures.items())
    REPORTED.append(line)
    ARTIFACTS.mkdir(exist_ok=True)
    lines = (
        [
            kept
            for kept in FIGURES.read_text().splitlines()
            if not kept.startswith(f"{name}:")
        ]
        if FIGURES.exists()
        else []
    )
    FIGURES.write_text("\n".join([*lines, line]) + "\n")
    return line


@pytest.fixture
async def number(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
) -> dict[str, Any]:
    """Set up an entry against the simulator with NUMBER validated; return the entry."""
    _, sim_url = simulator
    entry = await hass_api.add_callerid("demo-key", f"{sim_url}/api")
    assert entry["state"] == "loaded"
    await validate(hass_api, http, sim_url, NUMBER, CALLER_ID)
    return entry


async def test_call_not_answered(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    number: dict[str, Any],
) -> None:
    """One hook per entry; a call from the number; not answered: event and Last call."""
    _, sim_url = simulator
    # Setup creates the hook in the background: wait for it, then check it is alone.
    hooks = await poll(
        lambda: voice_status_hooks(http, sim_url, "demo-key"), "the voice_status hook"
    )
    assert len(hooks) == 1, hooks
    (hook,) = hooks
    assert hook["request_method"] == "JSON"
    assert hook["enabled"] is True
    assert hook["target_url"].startswith(f"{hass_api.url}/api/webhook/")
    # The Last call sensor exists once the number is validated, unknown before a call.
    state = await hass_api.state(LAST_CALL)
    assert state is not None
    assert state["state"] == "unknown"

    async with Events(http, hass_api).subscribe() as events:
        response = await place_call(hass_api, CALLER_ID, "030 1234567", ringtime=25)
        (row,) = response["calls"]
        assert row["success"] is True
        assert row["to"] == "+49301234567"
        assert response["outcome_reported"] is True
        call_id = row["call_id"]

        request = [
            r
            for r in (await sim_state(http, sim_url))["requests"]
            if r["path"] == "/api/voice"
        ][-1]
        assert digits(request["params"]["from"]) == digits(NUMBER)
        assert request["params"]["to"] in {"+49301234567", "49301234567"}
        assert request["params"]["ringtime"] == "25"
        (call,) = await calls_from(http, sim_url, NUMBER)
        assert call["call_id"] == call_id
        assert call["sender"] == digits(NUMBER)
        assert call["recipient"] == "49301234567"
        assert call["foreign_id"]
        await hass_api.wait_for_state(LAST_CALL, "calling")

        ended = await end_call(http, sim_url, call_id, status="no-answer", duration=0)
        assert ended["events"] == {hook["id"]: [200]}
        data = await events.wait_for(call_id)
    (devices,) = await hass_api.ws([{"type": "config/device_registry/list"}])
    (caller_id,) = [d for d in devices if d["model"] == "Caller ID"]
    assert data == {
        "config_entry_id": number["entry_id"],
        "call_id": call_id,
        "from": NUMBER,
        "to": "+49301234567",
        "device_id": caller_id["id"],
        "entity_id": LAST_CALL,
        "status": "no-answer",
        "outcome": "not_answered",
        "answered": False,
        "duration": 0,
    }
    assert len(events.received) == 1
    await hass_api.wait_for_state(LAST_CALL, "not_answered")

    # Also by number instead of the sensor, to a list; answered this time.
    async with Events(http, hass_api).subscribe() as events:
        response = await place_call(hass_api, "0176 12345678", ["0301234567"])
        call_id = response["calls"][0]["call_id"]
        await hass_api.wait_for_state(LAST_CALL, "calling")
        await end_call(http, sim_url, call_id, status="completed", duration=17)
        data = await events.wait_for(call_id)
    assert data["answered"] is True
    assert data["duration"] == 17
    await hass_api.wait_for_state(LAST_CALL, "answered")


async def test_blueprint_calls_until_someone_answers(
    simulator: tuple[Simulator, str],
    hass_process: HassProcess,
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    number: dict[str, Any],
) -> None:
    """The blueprint calls the first person, then the next, and stops at the one who answers.

    The first call is taken by a voicemail (completed after 5 s), shorter than the
    account's minimum talk time: that is no person, and the next one is called.
    """
    _, sim_url = simulator
    await set_options(hass_api, number["entry_id"], min_talk_time=10)
    await hass_api.wait_for_state(CALLER_ID, "on")
    await poll(
        lambda: voice_status_hooks(http, sim_url, "demo-key"), "the voice_status hook"
    )
    folder = hass_process.config_dir / "blueprints" / "automation" / "callerid"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(BLUEPRINT, folder / BLUEPRINT.name)
    (listed,) = await hass_api.ws([{"type": "blueprint/list", "domain": "automation"}])
    assert "callerid/call_until_answered.yaml" in listed, listed
    assert "error" not in listed["callerid/call_until_answered.yaml"], listed

    added = await add_recipient(hass_api, number["entry_id"], "Anna", PEOPLE[0])
    assert added["type"] == "create_entry", added
    await hass_api.wait_for_state("notify.anna", "unknown")
    automation_id = "call_until_answered_e2e"
    await hass_api.request(
        "POST",
        f"/api/config/automation/config/{automation_id}",
        {
            "alias": "Call until someone answers (e2e)",
            "description": "",
            "use_blueprint": {
                "path": "callerid/call_until_answered.yaml",
                "input": {
                    "when": [{"trigger": "event", "event_type": "callerid_e2e_alarm"}],
                    "caller_id": CALLER_ID,
                    # A recipient first; a mistyped number must not stop the calls
                    # to the others.
                    "recipients": ["notify.anna"],
                    "people": ["0000", *PEOPLE[1:]],
                    "message": ALARM,
                    "ringtime": 20,
                    # Longer than any step of this test: a missed event shows as a
                    # step that times out, not as a slow pass.
                    "wait": {"minutes": 5},
                },
            },
        },
    )
    entity_id = "automation.call_until_someone_answers_e2e"
    await hass_api.wait_for_state(entity_id, "on")

    async def blueprint_calls(count: int) -> list[dict[str, Any]] | None:
        calls = [
            c for c in await calls_from(http, sim_url, NUMBER) if c["text"] == ALARM
        ]
        return calls if len(calls) >= count else None

    started = time.monotonic()
    async with Events(http, hass_api).subscribe(ENDED, PLACED) as events:
        await hass_api.request("POST", "/api/events/callerid_e2e_alarm", {})
        # The recipient is called first.
        (first,) = await poll(lambda: blueprint_calls(1), "the first call")
        assert first["recipient"] == digits(PEOPLE[0])
        assert first["ringtime"] == 20
        # seven.io reports a call's end after it rang. The simulator can end it
        # sooner, before Home Assistant has recorded the call: that event is refused.
        await events.wait_for(first["call_id"], PLACED)

        # Another call from the same number ends, answered, while the blueprint
        # waits: that is not the first person answering.
        other = (await place_call(hass_api, CALLER_ID, "0301234567"))["calls"][0]
        await end_call(http, sim_url, other["call_id"], status="completed", duration=5)
        await events.wait_for(other["call_id"])

        await end_call(http, sim_url, first["call_id"], status="completed", duration=5)
        voicemail = await events.wait_for(first["call_id"])
        assert (voicemail["status"], voicemail["duration"]) == ("completed", 5)
        assert voicemail["answered"] is False
        # The mistyped number is skipped; the next person is called.
        second = (await poll(lambda: blueprint_calls(2), "the second call"))[1]
        assert second["recipient"] == digits(PEOPLE[1])
        await events.wait_for(second["call_id"], PLACED)
        await end_call(
            http, sim_url, second["call_id"], status="completed", duration=40
        )
        person = await events.wait_for(second["call_id"])
        assert (person["duration"], person["answered"]) == (40, True)

        async def finished_trace() -> dict[str, Any] | None:
            (traces,) = await hass_api.ws(
                [
                    {
                        "type": "trace/list",
                        "domain": "automation",
                        "item_id": automation_id,
                    }
                ]
            )
            done = [t for t in traces if t["state"] == "stopped"]
            return done[0] if done else None

        summary = await poll(finished_trace, "the automation's run to end")
    elapsed = time.monotonic() - started
    (trace,) = await hass_api.ws(
        [
            {
                "type": "trace/get",
                "domain": "automation",
                "item_id": automation_id,
                "run_id": summary["run_id"],
            }
        ]
    )
    assert trace["script_execution"] == "finished", trace["script_execution"]
    assert "error" not in trace, trace.get("error")
    stops = [
        step
        for path, steps in trace["trace"].items()
        for step in steps
        if path.endswith("/then/0") and (step.get("result") or {}).get("stop")
    ]
    assert [s["result"]["stop"] for s in stops] == ["Someone answered"], trace["trace"]
    # The run has ended: nobody else can be called now.
    calls = await blueprint_calls(0)
    assert calls is not None
    assert [c["recipient"] for c in calls] == [digits(p) for p in PEOPLE[:2]]
    await hass_api.wait_for_state(LAST_CALL, "answered")
    record_figures("blueprint", {"calls": len(calls), "seconds": f"{elapsed:.1f}"})


async def test_outcome_survives_kill_and_restart(
    simulator: tuple[Simulator, str],
    hass_process: HassProcess,
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    number: dict[str, Any],
) -> None:
    """SIGKILL between a call and its end: after the restart the end still counts."""
    _, sim_url = simulator
    (hook,) = await poll(
        lambda: voice_status_hooks(http, sim_url, "demo-key"), "the voice_status hook"
    )
    response = await place_call(hass_api, CALLER_ID, "0301234567")
    call_id = response["calls"][0]["call_id"]
    await hass_api.wait_for_state(LAST_CALL, "calling")

    # Home Assistant saves its own config entries and logins a moment later; a kill
    # before that loses the entry itself, which is not what this test is about.
    storage = hass_process.config_dir / ".storage"

    async def saved() -> bool:
        entries = storage / "core.config_entries"
        logins = storage / "auth_provider.homeassistant"
        return (
            entries.exists()
            and logins.exists()
            and number["entry_id"] in entries.read_text()
            and "demo" in logins.read_text()
        )

    await poll(saved, "Home Assistant to save the entry and the login")
    started = time.monotonic()
    await restart(hass_process, hass_api)
    restarted = time.monotonic() - started
    await hass_api.wait_for_state(LAST_CALL, "calling")

    # The restart checks the hook again (a second listing) and keeps it as it is.
    async def hook_requests() -> list[str] | None:
        requests = [
            r["method"]
            for r in (await sim_state(http, sim_url))["requests"]
            if r["path"] == "/api/hooks"
        ]
        return requests if requests.count("GET") >= 2 else None

    await poll(hook_requests, "the hook check after the restart")

    async with Events(http, hass_api).subscribe() as events:
        ended = await end_call(http, sim_url, call_id, status="completed", duration=9)
        assert ended["events"] == {hook["id"]: [200]}
        data = await events.wait_for(call_id)
    assert data["config_entry_id"] == number["entry_id"]
    assert data["from"] == NUMBER
    assert data["to"] == "+49301234567"
    assert data["answered"] is True
    assert data["duration"] == 9
    await hass_api.wait_for_state(LAST_CALL, "answered")
    assert await voice_status_hooks(http, sim_url, "demo-key") == [hook]
    # Listed again after the restart (and when Home Assistant's URLs are set), never
    # created twice nor deleted.
    requests = await hook_requests()
    assert requests is not None
    assert requests.count("POST") == 1
    assert "DELETE" not in requests

    # And once more: the ended call is remembered as ended across a kill.
    await restart(hass_process, hass_api)
    await hass_api.wait_for_state(LAST_CALL, "answered")
    record_figures("restart", {"kill_to_running_s": f"{restarted:.1f}"})


async def test_forged_call_events_refused(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    number: dict[str, Any],
    record_property: Callable[[str, object], None],
) -> None:
    """Forged, replayed and malformed voice_status events are refused; nothing fires."""
    _, sim_url = simulator
    await sim_post(http, sim_url, "account", {"key": "other-key"})
    other = await hass_api.add_callerid("other-key", f"{sim_url}/api")
    assert other["state"] == "loaded"
    await validate(
        hass_api,
        http,
        sim_url,
        OTHER_NUMBER,
        OTHER_CALLER_ID,
        entry_id=other["entry_id"],
    )
    (hook,) = await poll(
        lambda: voice_status_hooks(http, sim_url, "demo-key"), "the first entry's hook"
    )
    (other_hook,) = await poll(
        lambda: voice_status_hooks(http, sim_url, "other-key"),
        "the second entry's hook",
    )
    assert hook["target_url"] != other_hook["target_url"]
    url = hook["target_url"]

    ours = (await place_call(hass_api, CALLER_ID, "0301234567"))["calls"][0]["call_id"]
    theirs = (await place_call(hass_api, OTHER_CALLER_ID, "0301234567"))["calls"][0][
        "call_id"
    ]
    assert ours != theirs
    await hass_api.wait_for_state(LAST_CALL, "calling")
    await hass_api.wait_for_state(OTHER_LAST_CALL, "calling")
    foreign_id = (await calls_from(http, sim_url, NUMBER))[0]["foreign_id"]

    def event(call_id: str, **data: Any) -> dict[str, Any]:
        return {
            "webhook_event": "voice_status",
            "webhook_timestamp": "2026-11-27 21:00:00",
            "data": {
                "id": call_id,
                "callerId": digits(NUMBER),
                "recipient": "49301234567",
                "status": "completed",
                "duration": "30",
                "pricePerMinute": 0.045,
                "timestamp": 1795813200,
            }
            | data,
        }

    async def post(body: bytes | str | dict[str, Any], **kwargs: Any) -> int:
        if isinstance(body, dict):
            kwargs["json"] = body
        else:
            kwargs["data"] = body
            kwargs.setdefault("headers", {"Content-Type": "application/json"})
        async with http.post(url, **kwargs) as response:
            return response.status

    forgeries: list[tuple[str, Callable[[], Any], set[int]]] = [
        ("unknown call id", lambda: post(event("999999999")), {403}),
        ("another entry's call", lambda: post(event(theirs)), {403}),
        (
            "another entry's call with its caller ID",
            lambda: post(event(theirs, callerId=digits(OTHER_NUMBER))),
            {403},
        ),
        (
            "our call, wrong foreign_id",
            lambda: post(event(ours, foreign_id="f" * 16)),
            {403},
        ),
        (
            "malformed JSON",
            lambda: post('{"webhook_event": "voice_status", "data": {'),
            {400},
        ),
        ("not an object", lambda: post("[1, 2, 3]"), {400}),
        ("empty body", lambda: post(b""), {400}),
        (
            "oversize body",
            lambda: post(event(ours, foreign_id=foreign_id, padding="x" * 9000)),
            {400},
        ),
        (
            "wrong event type",
            lambda: post(event(ours) | {"webhook_event": "voice_call"}),
            {400},
        ),
        ("no event type", lambda: post({"data": event(ours)["data"]}), {400}),
        ("call id not text", lambda: post(event("../../etc")), {400}),
        (
            "status with control characters",
            lambda: post(event(ours, status="ok\n")),
            {400},
        ),
        ("negative duration", lambda: post(event(ours, duration="-5")), {400}),
        ("GET instead of POST", lambda: _get(http, url), {405}),
    ]

    async with (
        Events(http, hass_api).subscribe() as events,
    ):
        results = {name: await send() for name, send, _ in forgeries}
        for name, _, expected in forgeries:
            assert results[name] in expected, (name, results[name])
        # Refused: both calls still ringing.
        assert (await hass_api.state(LAST_CALL))["state"] == "calling"
        assert (await hass_api.state(OTHER_LAST_CALL))["state"] == "calling"

        # The real end of our call: accepted once, its replay refused.
        ended = await end_call(http, sim_url, ours, status="completed", duration=30)
        assert ended["events"] == {hook["id"]: [200]}
        genuine = (await sim_state(http, sim_url))["events"][-1]["event"]
        replays = [await post(genuine) for _ in range(3)]
        assert replays == [403, 403, 403]
        # The other entry's call ends at its own webhook, untouched by the forgeries.
        await end_call(http, sim_url, theirs, status="busy", duration=0)
        await events.wait_for(theirs)
        await events.wait_for(ours)
        # Events are delivered in order: anything a forgery fired would be here too.
        fired = [(e["config_entry_id"], e["call_id"]) for e in events.received]
    assert fired == [(number["entry_id"], ours), (other["entry_id"], theirs)]
    await hass_api.wait_for_state(LAST_CALL, "answered")
    await hass_api.wait_for_state(OTHER_LAST_CALL, "not_answered")

    refused = sum(1 for status in [*results.values(), *replays] if 400 <= status < 500)
    total = len(results) + len(replays)
    line = record_figures(
        "forgeries",
        {
            "sent": total,
            "refused_4xx": refused,
            "events_fired_by_forgeries": len(fired) - 2,
            "statuses": json.dumps(
                {
                    str(s): [*results.values(), *replays].count(s)
                    for s in (403, 400, 405)
                }
            ),
        },
    )
    record_property("forgeries", line)
    assert refused == total


async def _get(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(url) as response:
        return response.status


async def entry_state(hass_api: HassClient, entry_id: str) -> str:
    """Return the config entry's state (loaded, not_loaded, setup_in_progress ...)."""
    entries = await hass_api.request(
        "GET", "/api/config/config_entries/entry?domain=callerid"
    )
    return str(next(e["state"] for e in entries if e["entry_id"] == entry_id))


# What ends a call; the Last call sensor shows none of these while the call goes on.
ENDED_STATES = {"answered", "not_answered", "failed"}


@pytest.mark.parametrize(
    ("final", "duration", "progress_duration", "seconds", "outcome"),
    [
        ("completed", 17, "empty", 17, "answered"),
        ("completed", "17.0", "null", 17, "answered"),
        ("no-answer", "", "absent", 0, "not_answered"),
        ("failed", None, "empty", 0, "failed"),
    ],
)
async def test_status_updates_then_the_end(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    number: dict[str, Any],
    final: str,
    duration: Any,
    progress_duration: str,
    seconds: int,
    outcome: str,
) -> None:
    """seven.io's updates are taken (200) and end nothing; the final status ends the call once."""
    _, sim_url = simulator
    (hook,) = await poll(
        lambda: voice_status_hooks(http, sim_url, "demo-key"), "the voice_status hook"
    )
    answered = final == "completed"
    updates = ["initiated", "ringing", "in-progress"][: 3 if answered else 2]
    async with Events(http, hass_api).subscribe(ENDED, PLACED) as events:
        response = await place_call(hass_api, CALLER_ID, "0301234567")
        call_id = response["calls"][0]["call_id"]
        await events.wait_for(call_id, PLACED)
        await hass_api.wait_for_state(LAST_CALL, "calling")
        reported = await sim_post(
            http,
            sim_url,
            "progress",
            {
                "call_id": call_id,
                "sequence": updates,
                "progress_duration": progress_duration,
            },
        )
        assert reported["updates"] == [
            {"status": update, "events": {hook["id"]: [200]}} for update in updates
        ]
        state = await hass_api.state(LAST_CALL)
        assert state is not None
        assert state["state"] not in ENDED_STATES, state

        ended = await sim_post(
            http,
            sim_url,
            "end_call",
            {"call_id": call_id, "status": final, "duration": duration},
        )
        # Every update was reported already: only the final status is sent now.
        assert ended["updates"] == []
        assert ended["events"] == {hook["id"]: [200]}
        data = await events.wait_for(call_id)
        await hass_api.wait_for_state(LAST_CALL, outcome)
        # Events arrive in order: one fired by an update would be before this one.
        ends = [
            e
            for kind, e in zip(events.kinds, events.received, strict=True)
            if kind == ENDED and e["call_id"] == call_id
        ]
    assert len(ends) == 1, ends
    assert data["status"] == final
    assert data["duration"] == seconds
    assert data["answered"] is (outcome == "answered")


@pytest.mark.parametrize("journal", [False, True], ids=["no journal", "journal"])
async def test_a_refused_event_is_delivered_again(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    number: dict[str, Any],
    journal: bool,
) -> None:
    """While the entry is disabled its webhook answers 503; seven.io's retry then lands.

    With the journal right, the setup that follows may read the end from the journal
    first: the retry is then refused as a repeat. Either way the call ends once.
    """
    _, sim_url = simulator
    if not journal:
        scopes = sorted(ALL_SCOPES - {"journal"})
        await sim_post(http, sim_url, "account", {"key": "demo-key", "scopes": scopes})
    entry_id = number["entry_id"]
    (hook,) = await poll(
        lambda: voice_status_hooks(http, sim_url, "demo-key"), "the voice_status hook"
    )
    response = await place_call(hass_api, CALLER_ID, "0301234567")
    call_id = response["calls"][0]["call_id"]
    await hass_api.wait_for_state(LAST_CALL, "calling")
    await hass_api.ws(
        [
            {
                "type": "config_entries/disable",
                "entry_id": entry_id,
                "disabled_by": "user",
            }
        ]
    )

    async def unloaded() -> bool:
        return await entry_state(hass_api, entry_id) == "not_loaded"

    await poll(unloaded, "the entry to be unloaded")

    async def refused_once() -> bool:
        events = (await sim_state(http, sim_url))["events"]
        return any(
            e["event"]["data"]["id"] == call_id and e["statuses"][:1] == [503]
            for e in events
        )

    async with Events(http, hass_api).subscribe() as events:
        ending = asyncio.create_task(
            sim_post(
                http,
                sim_url,
                "end_call",
                # Up to 14 attempts 2 s apart: the retries outlast the re-enabling.
                {
                    "call_id": call_id,
                    "status": "completed",
                    "duration": 12,
                    "sequence": [],
                    "retry_delay": 2.0,
                },
            )
        )
        try:
            await poll(refused_once, "the first delivery to be refused")
            await hass_api.ws(
                [
                    {
                        "type": "config_entries/disable",
                        "entry_id": entry_id,
                        "disabled_by": None,
                    }
                ]
            )
            ended = await ending
        finally:
            ending.cancel()
        data = await events.wait_for(call_id)
        await hass_api.wait_for_state(LAST_CALL, "answered")
    statuses = ended["events"][hook["id"]]
    assert statuses[-1] in ((200, 403) if journal else (200,)), statuses
    assert len(statuses) >= 2
    assert set(statuses[:-1]) == {503}, statuses
    assert [e["call_id"] for e in events.received] == [call_id]
    assert data["status"] == "completed"
    assert data["duration"] == 12
    assert data["answered"] is True


async def test_hang_up_when_the_alarm_is_disarmed(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    number: dict[str, Any],
) -> None:
    """A call still ringing is hung up; seven.io reports it canceled: not answered."""
    _, sim_url = simulator
    await poll(
        lambda: voice_status_hooks(http, sim_url, "demo-key"), "the voice_status hook"
    )
    async with Events(http, hass_api).subscribe(ENDED, PLACED) as events:
        placed = (await place_call(hass_api, CALLER_ID, PEOPLE[0]))["calls"][0]
        await events.wait_for(placed["call_id"], PLACED)
        await sim_post(http, sim_url, "progress", {"call_id": placed["call_id"]})
        await hass_api.wait_for_state(LAST_CALL, "calling")

        assert await hang_up(hass_api, CALLER_ID) == {
            "calls": [
                {
                    "call_id": placed["call_id"],
                    "to": PEOPLE[0],
                    "success": True,
                    "error": None,
                }
            ]
        }
        ended = await events.wait_for(placed["call_id"])
        assert (ended["status"], ended["answered"]) == ("canceled", False)
    await hass_api.wait_for_state(LAST_CALL, "not_answered")
    # Nothing goes on any more: a second hang-up has nothing to end.
    assert await hang_up(hass_api, CALLER_ID) == {"calls": []}


async def test_last_call_of_two_people(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    number: dict[str, Any],
) -> None:
    """One action calls two people; one answers, the other not: Last call is Answered."""
    _, sim_url = simulator
    await poll(
        lambda: voice_status_hooks(http, sim_url, "demo-key"), "the voice_status hook"
    )
    async with Events(http, hass_api).subscribe(ENDED, PLACED) as events:
        rows = (await place_call(hass_api, CALLER_ID, PEOPLE[:2]))["calls"]
        first, second = (row["call_id"] for row in rows)
        await events.wait_for(second, PLACED)
        await end_call(http, sim_url, first, status="completed", duration=30)
        await events.wait_for(first)
        await hass_api.wait_for_state(LAST_CALL, "answered")
        await end_call(http, sim_url, second, status="no-answer", duration=0)
        assert (await events.wait_for(second))["answered"] is False
    state = await hass_api.state(LAST_CALL)
    assert state is not None
    assert state["state"] == "answered"


async def test_a_dropped_event_is_read_from_the_journal_after_a_restart(
    simulator: tuple[Simulator, str],
    hass_process: HassProcess,
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    number: dict[str, Any],
) -> None:
    """The call ends while its events are lost; the restart asks seven.io's journal."""
    _, sim_url = simulator
    await poll(
        lambda: voice_status_hooks(http, sim_url, "demo-key"), "the voice_status hook"
    )
    call_id = (await place_call(hass_api, CALLER_ID, "0301234567"))["calls"][0][
        "call_id"
    ]
    await hass_api.wait_for_state(LAST_CALL, "calling")
    storage = hass_process.config_dir / ".storage"

    async def saved() -> bool:
        entries = storage / "core.config_entries"
        return entries.exists() and number["entry_id"] in entries.read_text()

    await poll(saved, "Home Assistant to save the entry")
    await sim_post(
        http,
        sim_url,
        "end_call",
        {"call_id": call_id, "status": "completed", "duration": 42, "drop": True},
    )
    await restart(hass_process, hass_api)
    await hass_api.wait_for_state(LAST_CALL, "answered")
    journal = [
        r
        for r in (await sim_state(http, sim_url))["requests"]
        if r["path"] == "/api/journal/voice"
    ]
    assert len(journal) == 1, journal


async def test_balance_follows_the_calls_and_warns(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    number: dict[str, Any],
) -> None:
    """The Balance sensor shows seven.io's credit, each call lowers it; a repair warns."""
    _, sim_url = simulator
    await hass_api.wait_for_state(BALANCE, "12.34")
    await set_options(hass_api, number["entry_id"], warn_below=12)
    await poll(
        lambda: voice_status_hooks(http, sim_url, "demo-key"), "the voice_status hook"
    )
    await hass_api.wait_for_state(CALLER_ID, "on")

    async def low_credit_repair() -> list[dict[str, Any]]:
        (listed,) = await hass_api.ws([{"type": "repairs/list_issues"}])
        return [
            issue
            for issue in listed["issues"]
            if issue["domain"] == "callerid"
            and issue["issue_id"].startswith("balance_low")
        ]

    for _ in range(8):  # 8 calls of 0.045 each: 12.34 -> 11.98
        placed = await place_call(hass_api, CALLER_ID, PEOPLE[0])
        assert placed["calls"][0]["success"], placed
    await hass_api.wait_for_state(BALANCE, "11.98")
    (issue,) = await poll(low_credit_repair, "the low-credit repair")
    assert issue["translation_placeholders"]["balance"] == "11.98"

    # What the calls cost today: seven.io's analytics, asked hourly or when updated.
    await hass_api.wait_for_state(SPENT, "0")  # asked at setup, before the calls
    await hass_api.request(
        "POST", "/api/services/homeassistant/update_entity", {"entity_id": SPENT}
    )
    await hass_api.wait_for_state(SPENT, "0.36")


async def add_recipient(
    hass_api: HassClient, entry_id: str, name: str, number: str
) -> dict[str, Any]:
    """Add a recipient called from NUMBER, as the Add recipient dialog does."""
    flow = await hass_api.request(
        "POST",
        "/api/config/config_entries/subentries/flow",
        {"handler": [entry_id, "recipient"]},
    )
    return dict(
        await hass_api.request(
            "POST",
            f"/api/config/config_entries/subentries/flow/{flow['flow_id']}",
            {"name": name, "number": number, "caller_id": NUMBER},
        )
    )


@pytest.mark.hass_config(
    "input_boolean:\n  front_door:\n"
    "alert:\n  front_door:\n    name: Front door open\n"
    "    entity_id: input_boolean.front_door\n    state: 'on'\n    repeat: 30\n"
    "    skip_first: false\n    notifiers: [callerid_alice]\n"
)
async def test_an_alert_calls_a_recipient(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    number: dict[str, Any],
) -> None:
    """Core's alert calls Alice through notify.callerid_alice; her Call entity ends it."""
    _, sim_url = simulator
    added = await add_recipient(hass_api, number["entry_id"], "Alice", PEOPLE[2])
    assert added["type"] == "create_entry", added
    await poll(
        lambda: voice_status_hooks(http, sim_url, "demo-key"), "the voice_status hook"
    )
    await hass_api.wait_for_state("event.alice_call", "unknown")
    services = await hass_api.request("GET", "/api/services")
    notify = next(domain for domain in services if domain["domain"] == "notify")
    assert "callerid_alice" in notify["services"], notify["services"].keys()

    # The door opens (set through the API: what is under test is the alert).
    await hass_api.request(
        "POST",
        "/api/services/input_boolean/turn_on",
        {"entity_id": "input_boolean.front_door"},
    )
    (call,) = await poll(
        lambda: calls_from(http, sim_url, NUMBER), "the alert's call to Alice"
    )
    assert call["recipient"] == digits(PEOPLE[2])
    assert call["text"] == "Front door open"
    await end_call(http, sim_url, call["call_id"], status="completed", duration=42)

    async def answered() -> dict[str, Any] | None:
        state = await hass_api.request("GET", "/api/states/event.alice_call")
        return state if state["attributes"]["event_type"] == "answered" else None

    state = await poll(answered, "Alice's Call event")
    assert state["attributes"]["call_id"] == call["call_id"]
    assert state["attributes"]["duration"] == 42
