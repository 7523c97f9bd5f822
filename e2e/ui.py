"""A person's steps in Home Assistant's frontend, for the end-to-end journeys.

Locators are Playwright's role and text locators (they pierce shadow DOM); labels of
Home Assistant's own frontend come from its translation files, so the same helper
works in English and in German.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
import contextlib
from functools import cache
import json
import os
from pathlib import Path
import re
import shutil

import hass_frontend
from playwright.async_api import (
    Download,
    Locator,
    Page,
    async_playwright,
    expect,
)
import pytest

from .conftest import ARTIFACTS

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
VIEWPORT = {"width": 1200, "height": 800}
# Each step waits at most this long (ms) for the page; a journey has its own limits.
STEP_TIMEOUT = 20_000
# Assertions too: Playwright's own default (5 s) is too short for a frontend still
# loading on a busy machine (the sidebar after logging in took longer).
expect.set_options(timeout=STEP_TIMEOUT)
SCREENSHOTS = ARTIFACTS / "journeys"


def chromium() -> str:
    """Return the system's Chromium; the tests never download a browser."""
    path = os.environ.get("CALLERID_CHROMIUM") or shutil.which("chromium")
    if path is None:
        pytest.fail("Chromium is not installed: run scripts/setup")
    return path


@cache
def frontend_texts(language: str) -> dict[str, str]:
    """Return the installed frontend's texts in a language, by translation key."""
    folder = Path(hass_frontend.where()) / "static" / "translations"
    texts: dict[str, str] = {}
    for path in sorted(folder.glob(f"**/{language}-*.json")):
        texts.update(json.loads(path.read_text()))
    if not texts:
        raise LookupError(f"the frontend has no {language} texts")
    return texts


@contextlib.asynccontextmanager
async def browser_page(name: str) -> AsyncIterator[Page]:
    """Open a page in headless Chromium; keep its console log and a failure screenshot."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = await browser.new_context(
                viewport=VIEWPORT,  # type: ignore[arg-type]
                locale="en-US",
                timezone_id="UTC",
                accept_downloads=True,
            )
            page = await context.new_page()
            page.set_default_timeout(STEP_TIMEOUT)
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            try:
                yield page
            except BaseException:
                with contextlib.suppress(Exception):
                    await page.screenshot(path=SCREENSHOTS / f"{name}-FAILED.png")
                raise
        finally:
            (SCREENSHOTS / f"{name}-console.log").write_text("\n".join(console))
            await browser.close()


class HomeAssistantUI:
    """Home Assistant's frontend, as a person logged in as the demo user sees it."""

    def __init__(self, page: Page, url: str, *, language: str = "en") -> None:
        """Drive the instance at `url` in `page`."""
        self.page = page
        self.url = url
        self.language = language

    def t(self, key: str) -> str:
        """Return a frontend text in the user's language, by its translation key."""
        return frontend_texts(self.language)[key]

    async def shot(self, name: str, target: Locator | None = None) -> Path:
        """Keep a screenshot of the page (or of one part of it) in test-artifacts."""
        path = SCREENSHOTS / f"{name}.png"
        await self.settled()
        if target is None:
            await self.page.screenshot(path=path)
        else:
            await target.screenshot(path=path)
        return path

    # Navigation

    async def settled(self) -> None:
        """Wait until the launch screen that covers a freshly loaded page has gone."""
        await self.page.locator("#ha-launch-screen").wait_for(state="detached")

    async def stable(self, locator: Locator) -> None:
        """Wait until an element has stopped moving (it slides or fades in)."""
        previous = None
        for _ in range(60):
            box = await locator.bounding_box()
            if box is not None and box == previous:
                return
            previous = box
            await self.page.wait_for_timeout(50)
        raise AssertionError(f"{locator} kept moving")

    async def login(self, username: str, password: str) -> None:
        """Log in on the login page."""
        await self.page.goto(f"{self.url}/")
        await self.page.get_by_role("textbox", name="Username").fill(username)
        await self.page.get_by_role("textbox", name="Password").fill(password)
        await self.page.get_by_role("button", name="Log in").click()
        await expect(
            self.sidebar_button("ui.notification_drawer.title")
        ).to_be_visible()

    async def goto(self, path: str) -> None:
        """Open a page of the frontend by its path, as a bookmark would.

        A dialog closed just before may still have its step back in the history to
        take; a page.goto that starts before it is aborted by it (net::ERR_ABORTED).
        """
        await self.dialog_history_done()
        await self.page.goto(f"{self.url}{path}")
        await self.settled()

    async def dialog_history_done(self) -> None:
        """Wait until the frontend has taken closed dialogs off the browser history.

        Opening a dialog pushes a history entry ({dialog: its tag}); once the dialog
        has closed (after its closing animation) the frontend goes history.back() to
        leave it. Its own navigate() waits for the same thing before it moves on.
        """
        await self.page.wait_for_function("() => !window.history.state?.dialog")

    async def dialog_closed(self, dialog: Locator) -> None:
        """Wait until a dialog has gone, and with it its entry in the history."""
        await expect(dialog).to_be_hidden()
        await self.dialog_history_done()

    def sidebar_button(self, key: str) -> Locator:
        """Return a sidebar entry by its text (a badge may count along)."""
        return self.page.locator("ha-sidebar").get_by_role(
            "button", name=re.compile(re.escape(self.t(key)))
        )

    # Integrations and config flows

    async def open_add_integration(self) -> Locator:
        """Open Settings > Devices & services > Add integration; return its search box."""
        await self.goto("/config/integrations/dashboard")
        await self.page.get_by_role(
            "button", name=self.t("ui.panel.config.integrations.add_integration")
        ).click()
        search = self.page.locator("dialog-add-integration").get_by_role("textbox")
        await expect(search).to_be_visible()
        return search

    @property
    def flow(self) -> Locator:
        """Return the dialog of a config, options or reauth flow."""
        return self.page.locator("dialog-data-entry-flow")

    def field(self, label: str) -> Locator:
        """Return a form field by its label (required ones end in "*")."""
        pattern = re.compile(rf"^{re.escape(label)}\*?$")
        return self.flow.get_by_role("textbox", name=pattern).or_(
            self.flow.get_by_role("spinbutton", name=pattern)
        )

    async def fill(self, values: Mapping[str, str]) -> None:
        """Type values into the flow's fields, found by their labels."""
        for label, value in values.items():
            await self.field(label).fill(value)

    async def expand(self, section: str) -> None:
        """Open a collapsed section of the flow's form."""
        header = self.flow.get_by_role("button", name=section, exact=True)
        if await header.get_attribute("aria-expanded") != "true":
            await header.click()
        await expect(self.flow.get_by_role("region", name=section)).to_be_visible()

    async def submit(self) -> None:
        """Press the flow's submit button."""
        await self.flow.get_by_role(
            "button", name=self.t("ui.panel.config.integrations.config_flow.submit")
        ).click()

    def flow_error(self, text: str) -> Locator:
        """Return an error message of the flow's form by its text.

        (The alert's text sits in its shadow DOM, out of reach of text assertions on
        the alert element itself.)
        """
        return self.flow.get_by_text(text)

    async def dismiss_flow(self) -> None:
        """Close the flow dialog with its "x", leaving the flow unfinished."""
        await self.flow.get_by_role(
            "button", name=self.t("ui.common.close"), exact=True
        ).first.click()
        await self.dialog_closed(self.flow.get_by_role("dialog"))

    async def close_flow(self) -> None:
        """Close the flow dialog (its "Close", "Finish" or "Skip and finish" button)."""
        close = self.flow.get_by_role(
            "button",
            name=re.compile(
                "^("
                + "|".join(
                    re.escape(self.t(f"ui.panel.config.integrations.config_flow.{key}"))
                    for key in ("finish", "finish_skip", "close")
                )
                + ")$"
            ),
        ).last
        await close.click()
        await self.dialog_closed(self.flow.get_by_role("dialog"))

    async def open_options(self, title: str) -> None:
        """Open a config entry's options (its cog) on the integration's page."""
        await (
            self.entry_row(title)
            .get_by_role(
                "button",
                name=self.t("ui.panel.config.integrations.config_entry.configure"),
            )
            .first.click()
        )
        await expect(self.flow.get_by_role("dialog")).to_be_visible()

    async def options_saved(self) -> None:
        """Wait until the options dialog says it took the values; close it.

        (Between the form and its result the dialog renders neither, so the form
        being gone does not tell yet whether the values were taken.)
        """
        await expect(
            self.flow.get_by_text(self.t("ui.dialogs.options_flow.success.description"))
        ).to_be_visible()
        await self.close_flow()

    async def open_integration(self, domain: str) -> None:
        """Open the integration's page under Settings > Devices & services."""
        await self.goto(f"/config/integrations/integration/{domain}")

    def entry_row(self, title: str) -> Locator:
        """Return the row of a config entry on the integration's page."""
        return self.page.locator("ha-config-entry-row").filter(
            has=self.page.get_by_text(title, exact=True)
        )

    async def entry_menu_item(self, title: str, item_key: str) -> Locator:
        """Open a config entry's menu (the three dots); return one of its items."""
        row = self.entry_row(title)
        await row.get_by_role("button", name=self.t("ui.common.menu")).first.click()
        return self.page.get_by_role(
            "menuitem",
            name=self.t(f"ui.panel.config.integrations.config_entry.{item_key}"),
        )

    async def entry_menu(self, title: str, item_key: str) -> None:
        """Pick an item of a config entry's menu."""
        await (await self.entry_menu_item(title, item_key)).click()

    async def expect_device_state(
        self, name: str, state: str, *, wait: float = STEP_TIMEOUT
    ) -> None:
        """On a device's page, wait until its entity `name` shows `state`."""
        # The entities card reads out "name state name state ...".
        pair = re.escape(f"{name} {state}")
        card = self.page.locator("ha-device-entities-card").filter(
            has=self.page.get_by_text(name, exact=True)
        )
        await expect(card).to_match_aria_snapshot(
            f"- list: /(.* )?{pair}( .*)?/", timeout=wait
        )

    async def download(self, locator: Locator, folder: Path) -> Path:
        """Click something that downloads a file; return the saved file."""
        async with self.page.expect_download() as info:
            await locator.click()
        download: Download = await info.value
        path = folder / download.suggested_filename
        await download.save_as(path)
        return path

    # Notifications

    async def open_notifications(self) -> Locator:
        """Open the notifications drawer from the sidebar; return it."""
        await self.sidebar_button("ui.notification_drawer.title").click()
        drawer = self.page.locator("notification-drawer")
        title = drawer.get_by_text(self.t("ui.notification_drawer.title"), exact=True)
        await expect(title).to_be_visible()
        await self.stable(title)
        return drawer

    async def close_notifications(self) -> None:
        """Close the notifications drawer."""
        drawer = self.page.locator("notification-drawer")
        await drawer.get_by_role(
            "button", name=self.t("ui.notification_drawer.close")
        ).click()
        # The drawer is a dialog too, with its entry in the history.
        await self.dialog_closed(
            drawer.get_by_text(self.t("ui.notification_drawer.title"), exact=True)
        )

    def notification(self, title: str | re.Pattern[str]) -> Locator:
        """Return a notification in the drawer by its title."""
        return self.page.locator("persistent-notification-item").filter(
            has=self.page.get_by_text(title)
        )

    # Settings > Tools > Actions

    async def open_actions(self) -> None:
        """Go Settings > Tools > Actions by clicking, as a person finds it."""
        await (
            self.page.locator("ha-sidebar")
            .get_by_role("link", name=re.compile(re.escape(self.t("panel.config"))))
            .click()
        )
        await self.page.get_by_role(
            "link",
            name=re.compile(
                "^" + re.escape(self.t("ui.panel.config.dashboard.tools.main"))
            ),
        ).click()
        await self.page.get_by_role(
            "tab", name=self.t("ui.panel.config.tools.tabs.actions.title")
        ).click()
        await expect(self.page.locator("ha-service-picker")).to_be_visible()

    async def run_action(
        self,
        action: str,
        fields: Mapping[str, str],
        *,
        navigate: bool = True,
        fails: bool = False,
    ) -> str:
        """Pick an action in UI mode, fill its fields by label, perform it.

        Returns the response as the page shows it, or with `fails` the error shown
        instead; the other outcome fails the test.
        """
        if navigate:
            await self.goto("/config/tools/action")
        picker = self.page.locator("ha-service-picker")
        await expect(picker).to_be_visible()
        # The page keeps the last action picked; pick only when it is another one.
        # (Its picker has the value as soon as it is there; its text may come later.)
        if await picker.evaluate("picker => picker.value") != action:
            await picker.click()
            await picker.get_by_role("textbox").fill(action)
            await picker.get_by_text(action, exact=True).click()
        await expect(picker.get_by_text(action, exact=True)).to_be_visible()
        for label, value in fields.items():
            row = self.page.locator("ha-settings-row").filter(
                has=self.page.get_by_text(label, exact=True)
            )
            await row.get_by_role("textbox").fill(value)
        await self.page.get_by_role(
            "button", name=self.t("ui.panel.config.tools.tabs.actions.call_service")
        ).click()
        response = self.action_response()
        error = self.page.locator("ha-alert[alert-type=error]")
        await expect(response.or_(error).first).to_be_visible()
        if await error.count():
            message = await error.aria_snapshot()
            if not fails:
                raise AssertionError(f"the action failed: {message}")
            return message
        if fails:
            raise AssertionError("the action did not fail")
        return await response.locator(".cm-content").inner_text()

    def action_response(self) -> Locator:
        """Return the card that shows an action's response."""
        return self.page.locator("ha-card").filter(
            has=self.page.get_by_role(
                "heading", name=self.t("ui.panel.config.tools.tabs.actions.response")
            )
        )

    # Profile

    async def pick_language(self, picker: Locator, native_name: str) -> None:
        """Choose a language in a language picker by its own name."""
        await picker.click()
        await picker.get_by_role("textbox").fill(native_name)
        await picker.get_by_text(native_name, exact=True).click()
        await expect(picker.get_by_text(native_name, exact=True)).to_be_visible()

    async def set_language(self, native_name: str, language: str) -> None:
        """Pick the user's language on the profile page (Localization)."""
        await self.goto("/profile/localization")
        await self.pick_language(self.page.locator("ha-language-picker"), native_name)
        self.language = language
        await expect(
            self.page.get_by_role(
                "heading", name=self.t("ui.panel.profile.localization_header")
            )
        ).to_be_visible()
