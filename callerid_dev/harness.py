"""Run a real Home Assistant process with this integration, and talk to it over HTTP.

Used by the end-to-end tests and by scripts/develop. Everything listens on loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
import contextlib
from dataclasses import dataclass
import itertools
import json
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
from typing import Any

import aiohttp

PROJECT = Path(__file__).resolve().parent.parent
USERNAME = "demo"
PASSWORD = "demo-password"  # noqa: S105 - the documented local demo login
START_TIMEOUT = 180.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(
    config_dir: Path,
    port: int,
    extra: str = "",
    log_level: str = "debug",
) -> None:
    """Write a minimal configuration: frontend, automations, loopback only, our integration."""
    config_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    # Home Assistant takes the http settings from YAML once, on trial, and keeps them
    # in storage once confirmed (HassClient.onboard does); afterwards YAML is ignored.
    http = (
        ""
        if (config_dir / ".storage" / "http").exists()
        else f"http:\n  server_host: 127.0.0.1\n  server_port: {port}\n"
    )
    (config_dir / "configuration.yaml").write_text(
        f"""\
{http}frontend:
config:
automation: !include automations.yaml
logger:
  default: warning
  logs:
    custom_components.callerid: {log_level}
{extra}"""
    )
    # The automation editor saves here.
    automations = config_dir / "automations.yaml"
    if not automations.exists():
        automations.write_text("[]\n")
    # The core settings go to storage, not YAML, so that they can be changed in the UI
    # (Settings > System > General), as on an installation onboarded by hand. Only the
    # URLs are renewed on each start: the port may have changed.
    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    core = storage / "core.config"
    stored = (
        json.loads(core.read_text())
        if core.exists()
        else {
            "version": 1,
            "minor_version": 4,
            "key": "core.config",
            "data": {
                "location_name": "Caller ID demo",
                "country": "DE",
                "language": "en",
                "time_zone": "UTC",
                "unit_system_v2": "metric",
                "currency": "EUR",
                "latitude": 52.52,
                "longitude": 13.40,
                "elevation": 34,
                "radius": 100,
            },
        }
    )
    stored["data"] |= {"external_url": url, "internal_url": url}
    core.write_text(json.dumps(stored))
    # Onboarding is left with only its user step, done over the API. The other steps
    # would set up Home Assistant's own starter integrations, which need packages
    # this environment does not install.
    onboarding = storage / "onboarding"
    if not onboarding.exists():
        onboarding.write_text(
            json.dumps(
                {
                    "version": 4,
                    "minor_version": 1,
                    "key": "onboarding",
                    "data": {"done": ["core_config", "analytics", "integration"]},
                }
            )
        )
    custom = config_dir / "custom_components"
    custom.mkdir(exist_ok=True)
    link = custom / "callerid"
    if not link.exists():
        link.symlink_to(PROJECT / "custom_components" / "callerid")


@dataclass
class HassProcess:
    """One `hass` process on a config directory."""

    config_dir: Path
    port: int
    extra_config: str = ""
    # The integration's log level: debug for tests and the demo, as a user has it for
    # the benchmarks.
    log_level: str = "debug"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Return the file that the process's output goes to."""
        return self.config_dir / "hass-output.log"

    async def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start hass and wait until its HTTP server answers."""
        write_config(self.config_dir, self.port, self.extra_config, self.log_level)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "homeassistant",
                "--config",
                str(self.config_dir),
                "--skip-pip",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            # Not the project folder: its own custom_components package would shadow the
            # config folder's, which is the one Home Assistant must load from.
            cwd=self.config_dir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"hass exited ({self.process.returncode}); see {self.log_path}"
                    )
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.url}/api/onboarding") as response:
                        if response.status in (200, 404):
                            return
                if loop.time() > deadline:
                    self.kill()
                    raise TimeoutError(
                        f"hass did not answer in {timeout:.0f} s; see {self.log_path}"
                    )
                await asyncio.sleep(0.5)

    def kill(self) -> None:
        """End hass at once (SIGKILL): nothing gets the chance to save."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    async def stop(self) -> None:
        """Stop hass the normal way (SIGTERM), killing it if it takes too long."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, 60)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None


class HassClient:
    """Home Assistant's REST and websocket APIs, as the frontend uses them."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        """Talk to the instance at `url`."""
        self._session = session
        self.url = url
        self.client_id = f"{url}/"
        self.token: str | None = None
        self._ids = itertools.count(1)

    async def onboard(self) -> None:
        """Create the demo user, the last onboarding step left, and log in."""
        async with self._session.post(
            f"{self.url}/api/onboarding/users",
            json={
                "client_id": self.client_id,
                "name": "Demo",
                "username": USERNAME,
                "password": PASSWORD,
                "language": "en",
            },
        ) as response:
            response.raise_for_status()
            auth_code = (await response.json())["auth_code"]
        await self._token(auth_code)
        # Keep the loopback http settings for good, or they revert after five minutes.
        await self.ws([{"type": "http/config/promote"}])

    async def login(self) -> None:
        """Log in as the demo user through the login flow, like the login page does."""
        flow = await self._post_json(
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.url}/?auth_callback=1",
            },
        )
        result = await self._post_json(
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": USERNAME, "password": PASSWORD},
        )
        await self._token(result["result"])

    async def onboarded(self) -> bool:
        """Return whether the user step of onboarding is done."""
        async with self._session.get(f"{self.url}/api/onboarding") as response:
            if response.status == 404:
                return True
            steps = await response.json()
        return all(step["done"] for step in steps if step["step"] == "user")

    async def _post_json(self, path: str, body: dict[str, Any]) -> Any:
        async with self._session.post(f"{self.url}{path}", json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def _token(self, code: str) -> None:
        async with self._session.post(
            f"{self.url}/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            },
        ) as response:
            response.raise_for_status()
            self.token = (await response.json())["access_token"]

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """Make an authenticated REST call and return the decoded JSON."""
        async with self._session.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise RuntimeError(f"{method} {path}: HTTP {response.status}: {text}")
            return await response.json() if text else None

    async def ws(self, commands: Sequence[dict[str, Any]]) -> list[Any]:
        """Send websocket commands in turn and return their results."""
        results = []
        async with self._session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": self.token})
            if (await ws.receive_json())["type"] != "auth_ok":
                raise RuntimeError("websocket authentication failed")
            for command in commands:
                msg_id = next(self._ids)
                await ws.send_json({"id": msg_id, **command})
                while (message := await ws.receive_json())["id"] != msg_id:
                    pass
                if not message["success"]:
                    raise RuntimeError(f"{command['type']}: {message['error']}")
                results.append(message["result"])
        return results

    async def wait_until_running(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until Home Assistant has finished starting."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (await self.request("GET", "/api/config"))["state"] != "RUNNING":
            if loop.time() > deadline:
                raise TimeoutError("Home Assistant did not finish starting")
            await asyncio.sleep(0.5)

    async def add_callerid(self, api_key: str, base_url: str) -> dict[str, Any]:
        """Run the integration's config flow and return the created entry."""
        flow = await self.request(
            "POST", "/api/config/config_entries/flow", {"handler": "callerid"}
        )
        result = await self.request(
            "POST",
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            {"api_key": api_key, "advanced": {"base_url": base_url}},
        )
        if result.get("type") != "create_entry":
            raise RuntimeError(f"config flow did not create an entry: {result}")
        return dict(result["result"])

    async def add_dashboard(self, url_path: str, cards: list[dict[str, Any]]) -> None:
        """Create a "Caller ID" dashboard at /{url_path}/numbers with the given cards."""
        await self.ws(
            [
                {
                    "type": "lovelace/dashboards/create",
                    "url_path": url_path,
                    "title": "Caller ID",
                    "icon": "mdi:phone-check",
                    "mode": "storage",
                    "show_in_sidebar": True,
                    "require_admin": False,
                },
                {
                    "type": "lovelace/config/save",
                    "url_path": url_path,
                    "config": {
                        "views": [
                            {"title": "Caller ID", "path": "numbers", "cards": cards}
                        ]
                    },
                },
            ]
        )

    async def validate(
        self, number: str, config_entry_id: str | None = None
    ) -> dict[str, Any]:
        """Call callerid.validate (on the entry, if given) and return its response data."""
        entry = {} if config_entry_id is None else {"config_entry_id": config_entry_id}
        result = await self.request(
            "POST",
            "/api/services/callerid/validate?return_response",
            {"number": number, **entry},
        )
        return dict(result["service_response"])

    async def notifications(self) -> list[dict[str, Any]]:
        """Return the persistent notifications."""
        (result,) = await self.ws([{"type": "persistent_notification/get"}])
        return list(result)

    async def state(self, entity_id: str) -> dict[str, Any] | None:
        """Return an entity's state, or None if it does not exist."""
        try:
            return dict(await self.request("GET", f"/api/states/{entity_id}"))
        except RuntimeError as err:
            if "HTTP 404" in str(err):
                return None
            raise

    async def wait_for_state(
        self, entity_id: str, expected: str, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Poll until the entity has the expected state."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            state = await self.state(entity_id)
            if state is not None and state["state"] == expected:
                return state
            if loop.time() > deadline:
                raise TimeoutError(
                    f"{entity_id} is {state and state['state']}, not {expected}"
                )
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def simulator_server(port: int) -> AsyncIterator[Any]:
    """Run the gateway simulator in this process on 127.0.0.1:port."""
    from aiohttp import web  # noqa: PLC0415

    from .gateway_sim import SIM, create_app  # noqa: PLC0415

    app = create_app()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield app[SIM]
    finally:
        await runner.cleanup()
