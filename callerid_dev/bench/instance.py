"""A real hass with the integration and the bench helper, and the calls every scenario makes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
import time
from typing import Any

import aiohttp

from ..harness import HassClient, HassProcess, free_port

HELPER = Path(__file__).resolve().parent.parent / "bench_helper" / "callerid_bench"
# The registries save everything 10 s after their last change: not while timing.
REGISTRY_SAVE_DELAY = 12.0


class Instance:
    """One hass process on a scratch config, with the bench helper linked in."""

    def __init__(self, root: Path, name: str) -> None:
        """Prepare, but do not start."""
        self.process = HassProcess(
            config_dir=root / name,
            port=free_port(),
            extra_config="callerid_bench:\n",
            # The integration's log level as a user has it.
            log_level="warning",
        )
        helper = self.config_dir / "custom_components" / "callerid_bench"
        helper.parent.mkdir(parents=True, exist_ok=True)
        if not helper.exists():
            helper.symlink_to(HELPER)
        self.session: aiohttp.ClientSession | None = None
        self._api: HassClient | None = None

    @property
    def config_dir(self) -> Path:
        """Return the configuration folder."""
        return self.process.config_dir

    @property
    def api(self) -> HassClient:
        """Return the client of the running process."""
        if self._api is None:
            raise RuntimeError("hass is not running")
        return self._api

    async def start(self) -> HassClient:
        """Start hass, onboard or log in, and wait until it runs with the bench helper."""
        await self.process.start()
        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=120),
            connector=aiohttp.TCPConnector(limit=64),
        )
        self._api = api = HassClient(self.session, self.process.url)
        if await api.onboarded():
            await api.login()
        else:
            await api.onboard()
        await api.wait_until_running()
        services = await api.request("GET", "/api/services")
        if not any(service["domain"] == "callerid_bench" for service in services):
            raise RuntimeError(f"the bench helper did not set up; see {self.log_path}")
        return api

    async def stop(self) -> None:
        """Stop hass (the normal way: everything gets saved)."""
        if self.session is not None:
            await self.session.close()
            self.session = None
        self._api = None
        await self.process.stop()

    @property
    def log_path(self) -> Path:
        """Return the file the process logs to."""
        return self.process.log_path

    def log(self) -> str:
        """Return the process's log so far."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def pid(self) -> int:
        """Return the process id of the running hass."""
        if self.process.process is None:
            raise RuntimeError("hass is not running")
        return self.process.process.pid

    async def settle(self, quiet: float = 3.0, limit: float = 120.0) -> None:
        """Wait until the log has been quiet for `quiet` seconds.

        With thousands of entities Home Assistant's start-up keeps the loop busy for
        a while after it says it runs; nothing is timed meanwhile.
        """
        deadline = time.monotonic() + limit
        size, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if (now := self.log_path.stat().st_size) != size:
                size, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            await asyncio.sleep(0.5)


async def flow(api: HassClient, handler: str, data: dict[str, Any]) -> str:
    """Create a config entry through its one-step flow; return the entry id."""
    result = await api.request(
        "POST", "/api/config/config_entries/flow", {"handler": handler}
    )
    result = await api.request(
        "POST", f"/api/config/config_entries/flow/{result['flow_id']}", data
    )
    if result.get("type") != "create_entry":
        raise RuntimeError(f"{handler}: the config flow ended with {result}")
    return str(result["result"]["entry_id"])


async def wait_until_loaded(api: HassClient, entry_id: str, limit: float = 60) -> None:
    """Wait for a config entry to be loaded (again, after its options changed)."""
    deadline = time.monotonic() + limit
    state = None
    while time.monotonic() < deadline:
        entries = await api.request("GET", "/api/config/config_entries/entry")
        state = next((e["state"] for e in entries if e["entry_id"] == entry_id), None)
        if state == "loaded":
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"config entry {entry_id} is {state}, not loaded")


async def helper(api: HassClient, action: str, data: Any = None) -> Any:
    """Call one of the bench helper's actions and return its response."""
    result = await api.request(
        "POST", f"/api/services/callerid_bench/{action}?return_response", data or {}
    )
    return result["service_response"]


async def timed(action: Callable[[], Awaitable[Any]]) -> float:
    """Return how long `action` took, in seconds."""
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


async def timed_reload(api: HassClient, entry_id: str) -> float:
    """Reload a config entry; return the seconds until it was set up again."""
    started = time.perf_counter()
    await api.request("POST", f"/api/config/config_entries/entry/{entry_id}/reload")
    return time.perf_counter() - started


def blocking_calls(log: str) -> dict[str, Any]:
    """Count Home Assistant's reports of blocking calls in the event loop.

    Home Assistant reports each place once at warning level (again only at debug).
    `ours` are those it puts down to the integration, by its name or its files.
    """
    found = [line for line in log.splitlines() if "Detected blocking call" in line]
    ours = [
        line
        for line in found
        if "integration 'callerid'" in line or "custom_components/callerid/" in line
    ]
    return {"ours": len(ours), "all": len(found), "examples": ours[:3]}


def rss_mib(pid: int) -> float:
    """Return a process's resident memory in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")
