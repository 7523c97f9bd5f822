"""A person's view: log in, open a dashboard, watch the number become validated."""

from __future__ import annotations

import os
from pathlib import Path
import shutil

import aiohttp
from playwright.async_api import async_playwright, expect
import pytest

from callerid_dev.gateway_sim import Simulator
from callerid_dev.harness import PASSWORD, USERNAME, HassClient

from .conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

NUMBER = "+4917612345678"
ENTITY_ID = "binary_sensor.49_176_12345678_caller_id"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    """Return the system's Chromium; the tests never download a browser."""
    path = os.environ.get("CALLERID_CHROMIUM") or shutil.which("chromium")
    if path is None:
        pytest.fail("Chromium is not installed: run scripts/setup")
    return path


async def test_dashboard_shows_validation(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    """The sensor on a dashboard goes from "Not validated" to "Validated"."""
    _, sim_url = simulator
    await hass_api.add_callerid("demo-key", f"{sim_url}/api")
    code = (await hass_api.validate(NUMBER))["code"]
    await hass_api.add_dashboard(
        "caller-id",
        [{"type": "entities", "title": "Caller IDs", "entities": [ENTITY_ID]}],
    )

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page(viewport={"width": 1000, "height": 640})
            console: list[str] = []
            page.on(
                "console",
                lambda message: console.append(f"{message.type}: {message.text}"),
            )
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            await page.goto(f"{hass_api.url}/caller-id/numbers")
            await page.get_by_role("textbox", name="Username").fill(USERNAME)
            await page.get_by_role("textbox", name="Password").fill(PASSWORD)
            await page.get_by_role("button", name="Log in").click()

            row = (
                page.locator("hui-simple-entity-row, hui-generic-entity-row")
                .filter(has_text="Caller ID")
                .first
            )
            await expect(row).to_contain_text("Not validated", timeout=60_000)
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=ARTIFACTS / "dashboard-pending.png")

            async with http.post(
                f"{sim_url}/_sim/keypad", json={"number": NUMBER, "digits": code}
            ) as response:
                assert (await response.json())["validated"] is True

            await expect(row).to_contain_text("Validated", timeout=30_000)
            await expect(row).not_to_contain_text("Not validated")
            await page.screenshot(path=ARTIFACTS / "dashboard-validated.png")
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "browser-console.log").write_text("\n".join(console))
            await browser.close()
