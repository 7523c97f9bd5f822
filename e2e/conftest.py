"""Fixtures of the end-to-end tests: the gateway simulator and a real `hass` process."""

from __future__ import annotations

from collections.abc import AsyncIterator
import os
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest

from callerid_dev.gateway_sim import Simulator
from callerid_dev.harness import (
    PASSWORD,
    USERNAME,
    HassClient,
    HassProcess,
    free_port,
    simulator_server,
)

if TYPE_CHECKING:
    from .ui import HomeAssistantUI

# scripts/test gives each Home Assistant version its own folder (CALLERID_ARTIFACTS).
ARTIFACTS = Path(
    os.environ.get("CALLERID_ARTIFACTS")
    or Path(__file__).resolve().parent.parent / "test-artifacts"
)


@pytest.fixture
async def simulator() -> AsyncIterator[tuple[Simulator, str]]:
    """Run the gateway simulator; yield it and its base URL."""
    port = free_port()
    async with simulator_server(port) as sim:
        yield sim, f"http://127.0.0.1:{port}"


@pytest.fixture
async def hass_process(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[HassProcess]:
    """Start a real Home Assistant on a fresh config directory; stop it afterwards.

    A test marked `hass_config("...")` adds those lines to configuration.yaml.
    """
    marker = request.node.get_closest_marker("hass_config")
    process = HassProcess(
        config_dir=tmp_path / "config",
        port=free_port(),
        extra_config=marker.args[0] if marker else "",
    )
    await process.start()
    try:
        yield process
    finally:
        await process.stop()
        # Keep the log where CI can show it.
        ARTIFACTS.mkdir(exist_ok=True)
        log = process.log_path
        if log.exists():
            (ARTIFACTS / f"hass-{tmp_path.name}.log").write_bytes(log.read_bytes())


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """Return an HTTP client for the tests."""
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        yield session


@pytest.fixture
async def hass_api(
    hass_process: HassProcess, http: aiohttp.ClientSession
) -> HassClient:
    """Return the onboarded instance's API, logged in as the demo user."""
    client = HassClient(http, hass_process.url)
    await client.onboard()
    await client.wait_until_running()
    return client


@pytest.fixture
async def ui(
    request: pytest.FixtureRequest, hass_api: HassClient
) -> AsyncIterator[HomeAssistantUI]:
    """Log in as the demo user in Chromium; keep the last screen of the journey."""
    from .ui import HomeAssistantUI, browser_page  # noqa: PLC0415 - ui imports ARTIFACTS

    name = request.node.name
    async with browser_page(name) as page:
        person = HomeAssistantUI(page, hass_api.url)
        await person.login(USERNAME, PASSWORD)
        try:
            yield person
        finally:
            await person.shot(f"{name}-last")
