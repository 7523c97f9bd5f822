"""What a person does with the integration, done in the real frontend in Chromium.

Each journey types, clicks and reads in Home Assistant's UI. REST and websocket calls
only set up what the journey starts from or read a result; the seven.io side (a key
revoked, the phone's keypad) is the gateway simulator's HTTP control API. Each result
is kept as a screenshot in test-artifacts/journeys/.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import json
from pathlib import Path
import re
import sys
from typing import Any

import aiohttp
from playwright.async_api import Locator, expect
import pytest
from yarl import URL

from callerid_dev.develop import DASHBOARD, DEMO_NUMBER, prepare
from callerid_dev.gateway_sim import ALL_SCOPES, Simulator
from callerid_dev.harness import (
    PROJECT,
    HassClient,
    free_port,
)

from .ui import STEP_TIMEOUT, HomeAssistantUI

pytestmark = pytest.mark.e2e

INTEGRATION = PROJECT / "custom_components" / "callerid"
# The brand as the Add-integration dialog lists it.
INTEGRATION_NAME = json.loads((INTEGRATION / "manifest.json").read_text())["name"]
DEFAULT_GATEWAY = "https://gateway.seven.io/api"
NUMBER = "+49 176 12345678"
OTHER = "+49 30 123456"
# How long a callback or timer may take to reach the page (ms).
UPDATE = STEP_TIMEOUT
# The frontend's title of a config flow's last step when it made a device.
DEVICE_CREATED = "ui.panel.config.integrations.config_flow.device_created"
# Where Finish of the config flow takes the person: the new entry on its integration's page.
DEVICE_PAGE = re.compile(r"/config/devices/device/[0-9a-f]+$")
# What the dialog says when reauthentication or reconfiguration succeeded: Home
# Assistant's own words (async_update_reload_and_abort's default reasons), or the
# integration's if it names its reason.
UPDATED = re.compile(
    "The API key was updated.|Re-authentication was successful"
    "|Reconfiguration was successful"
)


def entity_ids(number: str) -> tuple[str, str]:
    """Return the caller ID binary sensor and the status sensor of a number."""
    slug = re.sub(r"\D+", "_", number).strip("_")
    return f"binary_sensor.{slug}_caller_id", f"sensor.{slug}_status"


def translations(language: str) -> dict[str, Any]:
    """Return the integration's own texts in a language."""
    return dict(
        json.loads((INTEGRATION / "translations" / f"{language}.json").read_text())
    )


async def keypad(
    http: aiohttp.ClientSession, sim_url: str, number: str, digits: str
) -> dict[str, Any]:
    """Answer the simulator's call and type digits: the phone, not Home Assistant."""
    async with http.post(
        f"{sim_url}/_sim/keypad", json={"number": number, "digits": digits}
    ) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def add_account(
    http: aiohttp.ClientSession,
    sim_url: str,
    key: str,
    scopes: frozenset[str],
    account: str | None = None,
) -> None:
    """Give the simulated seven.io another API key (of the account of key `account`)."""
    body: dict[str, Any] = {"key": key, "scopes": sorted(scopes)}
    if account is not None:
        body["account"] = account
    async with http.post(f"{sim_url}/_sim/account", json=body) as response:
        assert response.status == 200, await response.text()


async def numbers_dashboard(hass_api: HassClient, *numbers: str) -> None:
    """Create the "Caller ID" dashboard: a card per number with its two states."""
    cards = []
    for number in numbers:
        validated, status = entity_ids(number)
        cards.append(
            {
                "type": "entities",
                "title": number,
                "entities": [
                    {"entity": validated, "name": "Caller ID"},
                    {"entity": status, "name": "Status"},
                ],
            }
        )
    await hass_api.add_dashboard("caller-id", cards)


async def expect_state(
    person: HomeAssistantUI,
    number: str,
    name: str,
    state: str,
    *,
    wait: float = STEP_TIMEOUT,
) -> None:
    """Wait until a number's card on the dashboard shows an entity's state."""
    card = person.page.locator("hui-entities-card").filter(
        has=person.page.get_by_text(number, exact=True)
    )
    row = card.locator("hui-generic-entity-row").filter(
        has=person.page.get_by_text(name, exact=True)
    )
    # What the row reads out: its name, then its state (matched whole).
    await expect(row).to_match_aria_snapshot(f"- text: {name} {state}", timeout=wait)


async def until(read: Callable[[], Awaitable[Any]], done: Callable[[Any], bool]) -> Any:
    """Read a result until it is as expected (at most 20 s); return it."""
    async with asyncio.timeout(20):
        while True:
            if done(value := await read()):
                return value
            await asyncio.sleep(0.2)


async def entry_loaded(hass_api: HassClient, entry_id: str) -> None:
    """Wait until the entry is loaded again (it reloads after a flow changed it)."""
    await until(
        lambda: hass_api.request(
            "GET", "/api/config/config_entries/entry?domain=callerid"
        ),
        lambda entries: any(
            e["entry_id"] == entry_id and e["state"] == "loaded" for e in entries
        ),
    )


def code_in(text: str) -> str:
    """Return the 6-digit code in an action's response or a notification."""
    match = re.search(r"\b(\d{6})\b", text)
    assert match, f"no code in {text!r}"
    return match.group(1)


async def start_validation(person: HomeAssistantUI, number: str) -> str:
    """Run callerid.validate in Settings > Tools > Actions; return the code."""
    response = await person.run_action("callerid.validate", {"Number": number})
    assert "status: pending" in response, response
    return code_in(response)


# Journey 1


async def test_add_integration(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    ui: HomeAssistantUI,
) -> None:
    """Find the integration, get each error, add two accounts told apart by name."""
    _, sim_url = simulator
    gateway = f"{sim_url}/api"

    search = await ui.open_add_integration()
    brand = ui.page.locator("dialog-add-integration").get_by_role(
        "button", name=INTEGRATION_NAME
    )
    # Each search must find it; a miss is reported at the end, after the rest ran.
    missed = []
    for words in ("seven", "seven.io", "caller ID"):
        await search.fill(words)
        try:
            await expect(brand).to_be_visible()
        except AssertionError:
            missed.append(words)
            await ui.shot(f"add-integration-search-{words.replace(' ', '-')}-MISSED")
        if words == "seven.io":
            await ui.shot("add-integration-search")
    await brand.click()

    # Advanced untouched: the form goes out with seven.io's URL, which is offline here.
    await expect(ui.field("Name")).to_have_value("seven.io")
    await ui.stable(ui.field("Name"))
    await ui.shot("add-integration-form")
    await ui.fill({"API key": "demo-key"})
    await ui.submit()
    await expect(ui.flow_error("Could not reach seven.io")).to_be_visible()
    await ui.expand("Advanced")
    await expect(ui.field("Gateway URL")).to_have_value(DEFAULT_GATEWAY)
    await ui.shot("add-integration-default-url")

    await ui.fill({"API key": "wrong-key", "Gateway URL": gateway})
    await ui.submit()
    await expect(ui.flow_error("seven.io rejected this API key.")).to_be_visible()
    await expect(ui.field("API key")).to_have_value("wrong-key")
    await expect(ui.field("Gateway URL")).to_have_value(gateway)
    await ui.shot("add-integration-wrong-key")

    closed = f"http://127.0.0.1:{free_port()}/api"
    await ui.fill({"API key": "demo-key", "Gateway URL": closed})
    await ui.submit()
    await expect(ui.flow_error("Could not reach seven.io")).to_be_visible()
    await ui.shot("add-integration-unreachable")

    # A web server that is not seven.io's gateway: it answers 404 to the key check.
    await ui.fill({"Gateway URL": f"{sim_url}/not-the-api"})
    await ui.submit()
    await expect(ui.flow_error("did not answer as seven.io's gateway")).to_be_visible()
    await ui.shot("add-integration-not-seven")

    await ui.fill({"Gateway URL": gateway})
    await ui.submit()
    # The account's device (its balance) is new: the dialog offers to name it.
    await expect(ui.flow.get_by_text(ui.t(DEVICE_CREATED))).to_be_visible()
    await expect(ui.flow.get_by_role("textbox").first).to_have_value("seven.io")
    await ui.shot("add-integration-created")
    await ui.close_flow()
    # "Skip and finish" opens the new device: the account's, with its balance.
    await expect(ui.page).to_have_url(DEVICE_PAGE)
    await ui.expect_device_state("Balance", "€12.34")
    await ui.shot("add-integration-account-device")

    # A second account, with its own name.
    await add_account(http, sim_url, "office-key", ALL_SCOPES)
    search = await ui.open_add_integration()
    await search.fill("caller ID")
    await brand.click()
    await ui.fill({"Name": "Office", "API key": "office-key"})
    await ui.expand("Advanced")
    await ui.fill({"Gateway URL": gateway})
    await ui.submit()
    # The account's device (its balance) is new: the dialog offers to name it.
    await expect(ui.flow.get_by_text(ui.t(DEVICE_CREATED))).to_be_visible()
    await expect(ui.flow.get_by_role("textbox").first).to_have_value("Office")
    await ui.close_flow()
    await expect(ui.page).to_have_url(DEVICE_PAGE)

    await ui.open_integration("callerid")
    await expect(ui.entry_row("seven.io")).to_be_visible()
    await expect(ui.entry_row("Office")).to_be_visible()
    await ui.shot("integration-two-accounts")
    entries = await hass_api.request(
        "GET", "/api/config/config_entries/entry?domain=callerid"
    )
    assert sorted((e["title"], e["state"]) for e in entries) == [
        ("Office", "loaded"),
        ("seven.io", "loaded"),
    ]
    assert not missed, f"the Add-integration search does not find it for {missed}"


# Journey 2


async def test_reauth_reconfigure_options(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    ui: HomeAssistantUI,
) -> None:
    """A revoked key asks for a new one; reconfigure keeps the URL; options name limits."""
    sim, sim_url = simulator
    entry = await hass_api.add_callerid("demo-key", f"{sim_url}/api")

    # seven.io revokes the key (once it made the entry's hook) and issues a new one of
    # the same account; the next validation is refused.
    for _ in range(UPDATE // 100):
        if sim.hooks:
            break
        await asyncio.sleep(0.1)
    assert sim.hooks, "the entry made no hook at seven.io"
    del sim.keys["demo-key"]
    await add_account(http, sim_url, "new-key", ALL_SCOPES, account="demo-key")
    error = await ui.run_action("callerid.validate", {"Number": NUMBER}, fails=True)
    assert "seven.io rejected the API key" in error, error
    await ui.shot("reauth-action-refused")
    await ui.open_integration("callerid")
    reauth = ui.page.get_by_role(
        "button", name=ui.t("ui.panel.config.integrations.reconfigure")
    )
    await expect(reauth).to_be_visible(timeout=UPDATE)
    await ui.shot("reauth-offered")
    await reauth.click()
    await expect(ui.flow.get_by_text("seven.io rejected the API key")).to_be_visible()
    await ui.fill({"API key": "still-wrong"})
    await ui.submit()
    await expect(ui.flow_error("seven.io rejected this API key.")).to_be_visible()
    await ui.fill({"API key": "new-key"})
    await ui.submit()
    await expect(ui.flow.get_by_text(UPDATED)).to_be_visible()
    await ui.shot("reauth-done")
    await ui.close_flow()
    await entry_loaded(hass_api, entry["entry_id"])

    # Reconfigure with the Advanced section untouched: the simulator's URL stays.
    sim.keys["demo-key"] = ALL_SCOPES
    await ui.open_integration("callerid")
    await ui.entry_menu("seven.io", "reconfigure")
    await ui.fill({"API key": "demo-key"})
    seen = len(sim.requests)
    await ui.submit()
    await expect(ui.flow.get_by_text(UPDATED)).to_be_visible()
    await ui.shot("reconfigure-done")
    await ui.close_flow()
    await entry_loaded(hass_api, entry["entry_id"])
    # The new key was checked against the simulator, and the entry loaded there.
    assert any(
        r["headers"].get("X-Api-Key") == "demo-key" for r in sim.requests[seen:]
    ), sim.requests[seen:]

    # Options out of range: each value gets a message naming the range (1 to 120
    # min); what the dialog says is checked at the end, after a valid value went in.
    await ui.open_integration("callerid")
    messages = {}
    for value in ("500", "0"):
        await ui.open_options("seven.io")
        await ui.fill({"Code lifetime": value})
        await ui.submit()
        alert = ui.flow.locator("ha-alert")
        await expect(alert).to_be_visible()
        messages[value] = " ".join((await alert.text_content() or "").split())
        await ui.shot(f"options-out-of-range-{value}")
        await ui.dismiss_flow()
    await ui.open_options("seven.io")
    await ui.fill({"Code lifetime": "30", "Minimum talk time": "10"})
    await ui.submit()
    await ui.options_saved()
    # Saved options reload the entry; it was unloading before the dialog said so.
    await entry_loaded(hass_api, entry["entry_id"])
    diagnostics = await hass_api.request(
        "GET", f"/api/diagnostics/config_entry/{entry['entry_id']}"
    )
    options = diagnostics["data"]["entry"]["options"]
    assert (options["code_lifetime"], options["min_talk_time"]) == (30, 10), options
    (stored,) = await hass_api.request(
        "GET", "/api/config/config_entries/entry?domain=callerid"
    )
    assert stored["state"] == "loaded"
    unnamed = {
        value: message
        for value, message in messages.items()
        if not re.search(r"\b1\b.*\b120\b", message)
    }
    assert not unnamed, f"the options dialog does not name the range 1-120: {unnamed}"


# Journey 3


async def test_validate_from_actions(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    ui: HomeAssistantUI,
) -> None:
    """Validate in Settings > Tools > Actions; read the code; type it; see Validated."""
    _, sim_url = simulator
    await hass_api.add_callerid("demo-key", f"{sim_url}/api")
    await numbers_dashboard(hass_api, NUMBER)

    await ui.open_actions()
    response = await ui.run_action(
        "callerid.validate", {"Number": "0176 12345678"}, navigate=False
    )
    assert "number: '+4917612345678'" in response, response
    assert "status: pending" in response, response
    code = code_in(response)
    await ui.action_response().scroll_into_view_if_needed()
    await ui.shot("action-response")

    await ui.open_notifications()
    notice = ui.notification(f"Caller ID code for {NUMBER}")
    await expect(notice.get_by_text(code, exact=True)).to_be_visible()
    await ui.shot("notification-code")
    await ui.close_notifications()

    await ui.goto("/caller-id/numbers")
    await expect_state(ui, NUMBER, "Caller ID", "Not validated")
    await expect_state(ui, NUMBER, "Status", "Pending")
    await ui.shot("dashboard-pending")

    assert (await keypad(http, sim_url, NUMBER, code))["validated"] is True
    await expect_state(ui, NUMBER, "Status", "Validated", wait=UPDATE)
    await expect_state(ui, NUMBER, "Caller ID", "Validated")
    await ui.shot("dashboard-validated")
    await ui.open_notifications()
    await expect(ui.notification(f"Caller ID code for {NUMBER}")).to_have_count(0)


# Journey 4


async def test_failed_and_expired(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    ui: HomeAssistantUI,
) -> None:
    """A wrong code reads Failed; a code left too long reads Expired."""
    _, sim_url = simulator
    entry = await hass_api.add_callerid("demo-key", f"{sim_url}/api")
    await numbers_dashboard(hass_api, NUMBER, OTHER)

    code = await start_validation(ui, NUMBER)
    wrong = "000000" if code != "000000" else "111111"
    assert (await keypad(http, sim_url, NUMBER, wrong))["validated"] is False
    await ui.goto("/caller-id/numbers")
    await expect_state(ui, NUMBER, "Status", "Failed", wait=UPDATE)
    await expect_state(ui, NUMBER, "Caller ID", "Not validated")
    await ui.shot("dashboard-failed")
    await ui.open_notifications()
    failed = ui.notification(f"Caller ID validation of {NUMBER} (seven.io) failed")
    await expect(failed).to_be_visible()
    await expect(failed.get_by_text("The code entered was wrong.")).to_be_visible()
    await expect(ui.notification(f"Caller ID code for {NUMBER}")).to_have_count(0)
    await ui.shot("notification-failed")
    await ui.close_notifications()

    await ui.open_integration("callerid")
    await ui.page.get_by_role("button", name=re.compile(re.escape(NUMBER))).click()
    await ui.expect_device_state("Status", "Failed")
    await ui.expect_device_state("Caller ID", "Not validated")
    await ui.shot("device-failed")

    # Code lifetime 1 min, through the options dialog; then nobody answers.
    await ui.open_integration("callerid")
    await ui.open_options("seven.io")
    await ui.fill({"Code lifetime": "1"})
    await ui.submit()
    await ui.options_saved()
    # The entry reloads with the new lifetime before it validates again.
    await entry_loaded(hass_api, entry["entry_id"])
    await start_validation(ui, OTHER)
    await ui.goto("/caller-id/numbers")
    await expect_state(ui, OTHER, "Status", "Pending")
    await expect_state(ui, OTHER, "Status", "Expired", wait=100_000)
    await ui.shot("dashboard-expired")
    await ui.open_notifications()
    expired = ui.notification(f"Caller ID code for {OTHER} (seven.io) expired")
    await expect(expired).to_be_visible()
    await expect(expired.get_by_text("Start a new validation")).to_be_visible()
    await ui.shot("notification-expired")


# Journey 5


async def test_automation_editor(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    ui: HomeAssistantUI,
) -> None:
    """Build "when a number is validated, validate another" in the editor; see it run."""
    _, sim_url = simulator
    await hass_api.add_callerid("demo-key", f"{sim_url}/api")
    code = (await hass_api.validate(NUMBER))["code"]
    page = ui.page

    await ui.goto("/config/automation/edit/new")
    await page.get_by_role(
        "button", name=ui.t("ui.panel.config.automation.editor.triggers.add")
    ).click()
    picker = page.locator("add-automation-element-dialog")
    await picker.get_by_role("textbox").fill("Caller ID validation completed")
    await picker.get_by_text("Caller ID validation completed", exact=True).click()
    await ui.dialog_closed(picker.get_by_role("textbox"))
    trigger = page.locator("ha-automation-trigger-platform")
    # The field's checkbox turns the field on; then its value.
    await trigger.locator("ha-checkbox").nth(0).click()
    devices = trigger.locator("ha-device-picker")
    await devices.click()
    await devices.get_by_role("textbox").fill(NUMBER)
    # Devices are named after the number and its account.
    await devices.get_by_text(f"{NUMBER} (seven.io)", exact=True).click()
    await trigger.locator("ha-checkbox").nth(1).click()
    await (
        trigger.locator("ha-selector-select ha-checkbox")
        .filter(has=page.get_by_text("Validated", exact=True))
        .click()
    )
    await ui.shot("automation-trigger")

    await page.get_by_role(
        "button", name=ui.t("ui.panel.config.automation.editor.actions.add")
    ).click()
    await picker.get_by_role("textbox").fill("callerid.validate")
    await picker.get_by_text(re.compile(r": Validate caller ID$")).click()
    await ui.dialog_closed(picker.get_by_role("textbox"))
    number = (
        page.locator("ha-service-control ha-settings-row")
        .filter(has=page.get_by_text("Number", exact=True))
        .get_by_role("textbox")
    )
    await expect(number).to_be_editable()
    await number.click()
    await number.press_sequentially(OTHER)
    await number.press("Tab")
    await expect(number).to_have_value(OTHER)
    await ui.shot("automation-editor")
    await (
        page.locator("ha-automation-editor")
        .get_by_role("button", name=ui.t("ui.common.save"))
        .click()
    )
    save = page.locator("ha-dialog-automation-save")
    await save.get_by_role("textbox", name="Name").fill("Validate the office line")
    await save.get_by_role("button", name=ui.t("ui.common.save"), exact=True).click()
    # Saving takes the editor to the automation's own address (the frontend does).
    await expect(page).to_have_url(re.compile(r"/config/automation/edit/(?!new)"))
    await ui.dialog_closed(save.get_by_role("textbox", name="Name"))
    automation_id = page.url.rsplit("/", 1)[-1]
    saved = await hass_api.request(
        "GET", f"/api/config/automation/config/{automation_id}"
    )
    assert saved["actions"][0]["data"] == {"number": OTHER}, saved

    # The phone: the code typed, the validation completes, the automation runs.
    assert (await keypad(http, sim_url, NUMBER, code))["validated"] is True
    await ui.open_notifications()
    await expect(ui.notification(f"Caller ID code for {OTHER}")).to_be_visible(
        timeout=UPDATE
    )
    await ui.shot("automation-effect")
    await ui.close_notifications()
    await ui.goto("/config/automation/dashboard")
    row = page.get_by_role("row", name=re.compile("Validate the office line"))
    await expect(row).to_contain_text(re.compile(r"seconds? ago|now"))
    await ui.shot("automation-list")


# Journey 6


async def test_delete_device_and_diagnostics(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    ui: HomeAssistantUI,
    tmp_path: Path,
) -> None:
    """Delete a number's device on its page; diagnostics hold no key and no number.

    While the account is disabled, its page still offers a device's Delete: it says
    why not, and the number stays.
    """
    _, sim_url = simulator
    entry = await hass_api.add_callerid("demo-key", f"{sim_url}/api")
    await hass_api.validate(NUMBER)
    await hass_api.validate(OTHER)
    page = ui.page

    await _enable(hass_api, entry["entry_id"], enabled=False)
    await ui.open_integration("callerid")
    device_row = page.locator("ha-config-entry-device-row").filter(
        has=page.get_by_text(re.compile(re.escape(f"{OTHER} (seven.io)")))
    )
    await device_row.get_by_role(
        "button", name=ui.t("ui.common.menu"), exact=True
    ).click()
    await page.get_by_role(
        "menuitem", name=ui.t("ui.panel.config.integrations.config_entry.device.delete")
    ).click()
    await (
        page.locator("dialog-box")
        .get_by_role("button", name=ui.t("ui.common.delete"), exact=True)
        .click()
    )
    refusal = page.locator("dialog-box").get_by_text(
        re.compile(r"is not loaded, so the device was not deleted")
    )
    await ui.stable(refusal)
    await ui.shot("device-delete-unloaded-refused")
    await page.locator("dialog-box").get_by_role("button", name="OK").click()
    await _enable(hass_api, entry["entry_id"], enabled=True)
    await entry_loaded(hass_api, entry["entry_id"])
    await hass_api.wait_for_state(entity_ids(OTHER)[0], "off")

    await ui.open_integration("callerid")
    await page.get_by_role("button", name=re.compile(re.escape(OTHER))).click()
    await expect(page).to_have_url(re.compile("/config/devices/device/"))
    # The menu of the device's info card, next to "Download diagnostics".
    await (
        page.locator("ha-device-info-card")
        .get_by_role("button", name=ui.t("ui.common.menu"))
        .click()
    )
    await page.get_by_role(
        "menuitem", name=ui.t("ui.panel.config.devices.delete_device")
    ).click()
    confirm = page.locator("dialog-box").get_by_role(
        "button", name=ui.t("ui.panel.config.devices.delete_device"), exact=True
    )
    await ui.stable(confirm)
    await ui.shot("device-delete-confirm")
    await confirm.click()
    # The confirmation closes and the frontend steps back in the history; opening
    # another page before that step is taken got aborted by it (net::ERR_ABORTED).
    await ui.dialog_closed(confirm)
    # The page of the device says it is gone; so does the integration's page.
    await expect(page.get_by_role("alert")).to_be_visible()
    await ui.open_integration("callerid")
    await expect(
        page.get_by_role("button", name=re.compile(re.escape(NUMBER)))
    ).to_be_visible()
    await expect(
        page.get_by_role("button", name=re.compile(re.escape(OTHER)))
    ).to_have_count(0)
    await ui.shot("device-deleted")
    assert await hass_api.state(entity_ids(OTHER)[0]) is None

    await ui.open_integration("callerid")
    item = await ui.entry_menu_item("seven.io", "download_diagnostics")
    path = await ui.download(item, tmp_path)
    text = path.read_text()
    diagnostics = json.loads(text)
    assert diagnostics["data"], text
    assert "demo-key" not in text
    for digits in ("4917612345678", "176 12345678", "17612345678"):
        assert digits not in text, f"{digits} in the diagnostics"


async def _enable(hass_api: HassClient, entry_id: str, *, enabled: bool) -> None:
    """Enable or disable the entry, as its menu does (a precondition here)."""
    await hass_api.ws(
        [
            {
                "type": "config_entries/disable",
                "entry_id": entry_id,
                "disabled_by": None if enabled else "user",
            }
        ]
    )


# Journey 7


async def test_german(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    ui: HomeAssistantUI,
) -> None:
    """In German: the config flow, the action form, the states and the notification."""
    _, sim_url = simulator
    de = translations("de")
    page = ui.page

    await ui.set_language("Deutsch", "de")
    await ui.shot("german-profile")
    # Notifications are written by Home Assistant itself, in its own language:
    # Settings > System > General.
    await ui.goto("/config/general")
    await ui.pick_language(page.locator("ha-language-picker"), "Deutsch")
    await page.get_by_role("button", name=ui.t("ui.common.save")).last.click()
    await until(
        lambda: hass_api.request("GET", "/api/config"),
        lambda config: config["language"] == "de",
    )
    # Set up now, its entity names are German too (Home Assistant names entities in
    # its language when their platform is set up).
    await hass_api.add_callerid("demo-key", f"{sim_url}/api")

    user = de["config"]["step"]["user"]
    search = await ui.open_add_integration()
    await search.fill("seven")
    await (
        ui.page.locator("dialog-add-integration")
        .get_by_role("button", name=INTEGRATION_NAME)
        .click()
    )
    await expect(ui.flow.get_by_text(user["title"])).to_be_visible()
    await expect(ui.field(user["data"]["api_key"])).to_be_visible()
    await ui.fill({user["data"]["api_key"]: "wrong-key"})
    await ui.expand(user["sections"]["advanced"]["name"])
    await ui.fill({user["sections"]["advanced"]["data"]["base_url"]: f"{sim_url}/api"})
    await ui.submit()
    await expect(ui.flow_error(de["config"]["error"]["invalid_auth"])).to_be_visible()
    await ui.shot("german-config-flow")
    await ui.dismiss_flow()

    service = de["services"]["validate"]
    await ui.goto("/config/tools/action")
    code = code_in(
        await ui.run_action(
            "callerid.validate",
            {service["fields"]["number"]["name"]: NUMBER},
            navigate=False,
        )
    )
    await expect(page.get_by_text(service["description"])).to_be_visible()
    await ui.shot("german-action")

    await ui.open_notifications()
    title = de["exceptions"]["notification_code_title"]["message"].format(number=NUMBER)
    await expect(ui.notification(title).get_by_text(code, exact=True)).to_be_visible()
    await ui.shot("german-notification")
    await ui.close_notifications()

    status = de["entity"]["sensor"]["status"]
    caller_id = de["entity"]["binary_sensor"]["validated"]
    await ui.open_integration("callerid")
    await page.get_by_role("button", name=re.compile(re.escape(NUMBER))).click()
    await ui.expect_device_state(status["name"], status["state"]["pending"])
    await ui.expect_device_state(caller_id["name"], caller_id["state"]["off"])
    assert (await keypad(http, sim_url, NUMBER, code))["validated"] is True
    await ui.expect_device_state(
        status["name"], status["state"]["validated"], wait=UPDATE
    )
    await ui.expect_device_state(caller_id["name"], caller_id["state"]["on"])
    await ui.shot("german-device")


# The demo (scripts/develop)


async def test_demo_dashboard(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    ui: HomeAssistantUI,
) -> None:
    """The demo's dashboard reads well before the first validation and after it."""
    _, sim_url = simulator
    await prepare(hass_api, f"{sim_url}/api")
    page = ui.page

    await ui.goto(f"/{DASHBOARD}/numbers")
    await expect(page.get_by_text("No number validated yet.")).to_be_visible()
    await expect(
        page.get_by_text("Settings > Devices & services > seven.io Caller ID")
    ).to_be_visible()
    await expect(
        page.get_by_text(re.compile("Entity not (found|available)"))
    ).to_have_count(0)
    await ui.shot("demo-dashboard-empty")

    code = (await hass_api.validate(DEMO_NUMBER))["code"]
    table = page.locator("hui-markdown-card").get_by_role("table")
    await expect(table).to_match_aria_snapshot(
        f'- table:\n  - rowgroup:\n    - row "Number Caller ID Status"\n'
        f'  - rowgroup:\n    - row "{DEMO_NUMBER} (seven.io) Not validated Pending"',
        timeout=UPDATE,
    )
    assert (await keypad(http, sim_url, DEMO_NUMBER, code))["validated"] is True
    await expect(
        table.get_by_role("row", name=f"{DEMO_NUMBER} (seven.io) Validated Validated")
    ).to_be_visible(timeout=UPDATE)
    await ui.shot("demo-dashboard-validated")


# Issue "Put the validated caller ID to work": callerid.call from the actions page


async def _validated_account(
    simulator: tuple[Simulator, str], hass_api: HassClient, http: aiohttp.ClientSession
) -> None:
    """Add the demo account against the simulator and validate NUMBER on it."""
    _, sim_url = simulator
    await hass_api.add_callerid("demo-key", f"{sim_url}/api")
    code = (await hass_api.validate(NUMBER))["code"]
    assert (await keypad(http, sim_url, NUMBER.replace(" ", ""), code))["validated"]
    caller_id, _ = entity_ids(NUMBER)
    await hass_api.wait_for_state(caller_id, "on")


async def pick_caller_id(row: Locator) -> None:
    """Pick NUMBER's Caller ID sensor in the entity picker of `row`, typing part of it."""
    await row.locator("ha-entity-picker").click()
    await row.get_by_role("textbox").first.fill("12345678")
    await row.get_by_text(f"{NUMBER} (seven.io)", exact=True).click()


async def _pick_action(ui: HomeAssistantUI, typed: str, listed: str) -> None:
    """Open the Actions page and pick an action, typing `typed`, clicking `listed`."""
    await ui.goto("/config/tools/action")
    picker = ui.page.locator("ha-service-picker")
    await picker.click()
    await picker.get_by_role("textbox").fill(typed)
    await ui.page.get_by_text(listed, exact=True).click()


ANSWERED_42_S = "called +49 30 1234567: answered, 42 s"


async def _open_logbook_at(
    ui: HomeAssistantUI, hass_api: HassClient, line: str
) -> None:
    """Open the Activity page once the recorder has `line`, and see it there.

    The page starts from the recorder, then follows new entries from the last one it
    read: a line not yet written when it opened, followed by a newer one, would only
    show after a reload (the first event of a kind is written a little later).
    """
    await until(
        lambda: hass_api.request("GET", "/api/logbook"),
        lambda entries: any(entry.get("message") == line for entry in entries),
    )
    await ui.goto("/logbook")
    await expect(ui.page.get_by_text(line)).to_be_visible(timeout=UPDATE)


async def _answered_after_42_s(
    simulator: tuple[Simulator, str], http: aiohttp.ClientSession
) -> None:
    """Have seven.io report the one call placed as completed after 42 s."""
    sim, sim_url = simulator
    (call_id,) = sim.calls
    async with http.post(
        f"{sim_url}/_sim/end_call",
        json={"call_id": call_id, "status": "completed", "duration": 42},
    ) as answer:
        assert answer.status == 200, await answer.text()


@pytest.mark.hass_config("recorder:\nlogbook:\n")
async def test_call_from_actions(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    ui: HomeAssistantUI,
) -> None:
    """Pick the validated number's sensor, type a recipient and a message, perform."""
    sim, _ = simulator
    await _validated_account(simulator, hass_api, http)

    await _pick_action(ui, "callerid.call", "callerid.call")
    row = ui.page.locator("ha-settings-row")
    entity = row.filter(has=ui.page.get_by_text("Caller ID", exact=True))
    await pick_caller_id(entity)
    await expect(entity.get_by_text(f"{NUMBER} (seven.io)", exact=True)).to_be_visible()
    to = row.filter(has=ui.page.get_by_text("To", exact=True))
    # Optional (recipients may be called instead): ticked to be sent.
    await to.locator("ha-checkbox").click()
    await to.get_by_role("button", name=ui.t("ui.common.add")).click()
    await to.get_by_role("textbox").first.fill("030 1234567")
    await (
        row.filter(has=ui.page.get_by_text("Message", exact=True))
        .get_by_role("textbox")
        .fill("The alarm went off at home.")
    )
    await ui.page.get_by_role(
        "button", name=ui.t("ui.panel.config.tools.tabs.actions.call_service")
    ).click()
    response = ui.action_response()
    await expect(response).to_be_visible()
    text = await response.locator(".cm-content").inner_text()
    assert "success: true" in text, text
    assert "to: '+49301234567'" in text, text
    await response.scroll_into_view_if_needed()
    await ui.shot("call-response")

    (voice,) = [r for r in sim.requests if r["path"] == "/api/voice"]
    assert voice["params"]["from"] == NUMBER.replace(" ", "")
    assert voice["params"]["text"] == "The alarm went off at home."

    # seven.io reports the end; the logbook says how the call went.
    await _answered_after_42_s(simulator, http)
    slug = re.sub(r"\D+", "_", NUMBER).strip("_")
    await hass_api.wait_for_state(f"sensor.{slug}_last_call", "answered")
    await _open_logbook_at(ui, hass_api, ANSWERED_42_S)
    await ui.shot("logbook-call-answered")

    # The caller ID's device page has the line in its activity too.
    (devices,) = await hass_api.ws([{"type": "config/device_registry/list"}])
    (caller_id,) = [d for d in devices if d["model"] == "Caller ID"]
    await ui.goto(f"/config/devices/device/{caller_id['id']}")
    activity = ui.page.locator("ha-logbook").get_by_text(ANSWERED_42_S)
    await expect(activity).to_be_visible(timeout=UPDATE)
    await activity.scroll_into_view_if_needed()
    await ui.shot("caller-id-device-activity")

    # The account's device shows what the call left on it (12.34 - 0.045).
    (account,) = [d for d in devices if d["model"] == "Account"]
    await ui.goto(f"/config/devices/device/{account['id']}")
    await ui.expect_device_state("Balance", "€12.30")
    await ui.shot("account-device-balance")


# Issue "Calls people can trust with an alarm": a recipient, called from notify


@pytest.mark.hass_config("recorder:\nlogbook:\n")
async def test_recipient_called_from_its_notify_entity(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    ui: HomeAssistantUI,
) -> None:
    """Add a recipient on the account's page, then call them with notify.send_message."""
    sim, _ = simulator
    await _validated_account(simulator, hass_api, http)

    await ui.open_integration("callerid")
    # Beside "Add seven.io account": an account has recipients as subentries.
    await ui.page.get_by_role("button", name="Add recipient").click()
    await expect(ui.flow.get_by_role("dialog")).to_be_visible()
    await ui.fill({"Name": "Alice", "Phone number": "030 1234567"})
    await ui.shot("recipient-form")
    await ui.submit()
    await ui.shot("recipient-added")
    await ui.close_flow()
    await hass_api.wait_for_state("notify.alice", "unknown")

    await _pick_action(ui, "notify.send_message", "Send a notification message")
    await ui.page.get_by_role("button", name="Add target").click()
    targets = ui.page.get_by_role("dialog", name="Select option")
    await targets.get_by_role("textbox").fill("Alice")
    # The picker lists Alice's entity first, then her device.
    await targets.get_by_text("Alice", exact=True).first.click()
    await targets.wait_for(state="hidden")
    message = (
        ui.page.locator("ha-settings-row")
        .filter(has=ui.page.get_by_text("Message", exact=True))
        .get_by_role("textbox")
    )
    await message.fill("The alarm went off at home.")
    await expect(message).to_have_value("The alarm went off at home.")
    await ui.shot("recipient-send-message")
    await ui.page.get_by_role(
        "button", name=ui.t("ui.panel.config.tools.tabs.actions.call_service")
    ).click()
    await until(
        lambda: asyncio.sleep(
            0, [r for r in sim.requests if r["path"] == "/api/voice"]
        ),
        bool,
    )
    (voice,) = [r for r in sim.requests if r["path"] == "/api/voice"]
    assert voice["params"]["from"] == NUMBER.replace(" ", "")
    assert voice["params"]["to"] == "+49301234567"
    assert voice["params"]["text"] == "The alarm went off at home."

    await _answered_after_42_s(simulator, http)
    await _open_logbook_at(ui, hass_api, ANSWERED_42_S)
    # Alice's own line: her Call event entity, with how the call ended.
    alice = ui.page.locator("ha-logbook-entry").filter(has_text="Alice")
    await expect(alice.filter(has_text="Answered")).to_be_visible()
    await ui.shot("logbook-recipient-answered")


# Issue "Validate a caller ID in one dialog": Add caller ID on the account's page


async def _type_on_the_phone(
    sim_url: str, number: str, code: str, *, accepted: bool = True
) -> None:
    """Type the code on the phone seven.io rings, with scripts/keypad's program."""
    typed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "callerid_dev.keypad",
        number,
        code,
        "--port",
        str(URL(sim_url).port),
        stdout=asyncio.subprocess.DEVNULL,
    )
    assert await asyncio.wait_for(typed.wait(), STEP_TIMEOUT / 1000) == (
        0 if accepted else 1
    )


async def _add_caller_id(ui: HomeAssistantUI, typed: str) -> str:
    """Open Add caller ID, type the number, submit; return the code the dialog shows."""
    await ui.open_integration("callerid")
    await ui.page.get_by_role("button", name="Add caller ID").click()
    await expect(ui.flow.get_by_role("dialog")).to_be_visible()
    await ui.fill({"Phone number": typed})
    await ui.submit()
    calling = ui.flow.get_by_text(re.compile(r"seven\.io is calling .*: answer"))
    await expect(calling).to_be_visible()
    code = re.search(r"type (\d{6})", await calling.inner_text())
    assert code is not None
    return code.group(1)


async def test_add_caller_id_in_one_dialog(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    ui: HomeAssistantUI,
) -> None:
    """Add caller ID: the code in the dialog, typed on the phone, the result in it.

    Then a wrong code and the number validated again, and a dialog closed halfway
    whose validation goes on.
    """
    _, sim_url = simulator
    await hass_api.add_callerid("demo-key", f"{sim_url}/api")

    code = await _add_caller_id(ui, "0176 12345678")
    # While it waits, the dialog keeps its title.
    await expect(
        ui.flow.get_by_text("Validate a caller ID", exact=True)
    ).to_be_visible()
    await ui.shot("caller-id-dialog-code")
    await _type_on_the_phone(sim_url, "+4917612345678", code)
    await expect(
        ui.flow.get_by_text("+49 176 12345678 is validated", exact=False)
    ).to_be_visible(timeout=UPDATE)
    await ui.shot("caller-id-dialog-validated")
    await ui.close_flow()
    caller_id, _ = entity_ids("+49 176 12345678")
    await hass_api.wait_for_state(caller_id, "on")
    # Added again: seven.io knows it, places no call, and the dialog says so.
    await ui.open_integration("callerid")
    await ui.page.get_by_role("button", name="Add caller ID").click()
    await ui.fill({"Phone number": "0176 12345678"})
    # How a number without its country code is read: the country of the settings.
    await expect(
        ui.flow.get_by_text("Settings > System > General (DE)", exact=False)
    ).to_be_visible()
    await ui.shot("caller-id-dialog-form")
    await ui.submit()
    known = ui.flow.get_by_text(
        "seven.io has already validated +49 176 12345678, so it placed no call"
    )
    await expect(known).to_be_visible()
    await ui.shot("caller-id-dialog-known")
    await ui.close_flow()

    code = await _add_caller_id(ui, "030 1234567")
    wrong = "000000" if code != "000000" else "111111"
    await _type_on_the_phone(sim_url, "+49301234567", wrong, accepted=False)
    await expect(
        ui.flow.get_by_text("The validation of +49 30 1234567 failed")
    ).to_be_visible(timeout=UPDATE)
    await ui.shot("caller-id-dialog-failed")
    await ui.close_flow()
    # Validate it again: the same dialog, a new code, typed right this time.
    code = await _add_caller_id(ui, "030 1234567")
    await _type_on_the_phone(sim_url, "+49301234567", code)
    await expect(
        ui.flow.get_by_text("+49 30 1234567 is validated", exact=False)
    ).to_be_visible(timeout=UPDATE)
    await ui.close_flow()

    code = await _add_caller_id(ui, "040 123456")
    await ui.dismiss_flow()  # closed halfway: the validation goes on
    await _type_on_the_phone(sim_url, "+4940123456", code)
    caller_id, _ = entity_ids("+49 40 123456")
    await hass_api.wait_for_state(caller_id, "on")


async def _add_recipient(hass_api: HassClient, entry_id: str, **data: str) -> None:
    """Add a recipient through the subentry flow's REST view (a precondition)."""
    flow = await hass_api.request(
        "POST",
        "/api/config/config_entries/subentries/flow",
        {"handler": [entry_id, "recipient"]},
    )
    result = await hass_api.request(
        "POST", f"/api/config/config_entries/subentries/flow/{flow['flow_id']}", data
    )
    assert result["type"] == "create_entry", result


RECIPIENTS_REPAIR = "recipient_caller_id_gone"


async def _repairs(hass_api: HassClient) -> set[str]:
    """Return the kinds of the integration's repairs (a result read, not a step)."""
    (listed,) = await hass_api.ws([{"type": "repairs/list_issues"}])
    return {
        issue["issue_id"].rsplit("_", 1)[0]
        for issue in listed["issues"]
        if issue["domain"] == "callerid"
    }


async def _failed(sim_url: str, hass_api: HassClient, number: str) -> None:
    """Start a validation of `number` and mistype its code: it failed (a precondition)."""
    code = (await hass_api.validate(number))["code"]
    wrong = "000000" if code != "000000" else "111111"
    await _type_on_the_phone(sim_url, number.replace(" ", ""), wrong, accepted=False)
    await hass_api.wait_for_state(entity_ids(number)[1], "failed")


def _entity_row(ui: HomeAssistantUI, name: str) -> Locator:
    """Return a row of the device page's entities cards by the entity's name."""
    return (
        ui.page.locator("ha-device-entities-card")
        .locator("hui-button-entity-row, hui-select-entity-row")
        .filter(has=ui.page.get_by_text(name, exact=True))
    )


async def test_validate_again_from_the_device_page(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    ui: HomeAssistantUI,
) -> None:
    """Validate again from a number's device page; a test call picked there.

    Caller IDs are listed under the account; a failed one is validated again from its
    device page (the code from the notification), then a test call goes to a recipient
    picked there; another is validated again from its row, then deleted from it: Bob,
    called from it, is named in a repair until his row's cog points him at the first.
    """
    sim, sim_url = simulator
    entry = await hass_api.add_callerid("demo-key", f"{sim_url}/api")
    await _failed(sim_url, hass_api, NUMBER)
    await _failed(sim_url, hass_api, OTHER)
    page = ui.page

    await ui.open_integration("callerid")
    for number in (NUMBER, OTHER):  # each a row, "Caller ID", with its device
        row = page.locator("ha-config-sub-entry-row").filter(
            has=page.get_by_text(number, exact=True)
        )
        await expect(row.get_by_text("Caller ID", exact=True)).to_be_visible()
    await ui.shot("caller-ids-listed")
    await page.get_by_role(
        "button", name=re.compile(re.escape(f"{NUMBER} (seven.io)"))
    ).click()
    await expect(page).to_have_url(DEVICE_PAGE)
    await ui.expect_device_state("Status", "Failed")
    press = ui.t("ui.card.button.press")
    await _entity_row(ui, "Validate again").get_by_role("button", name=press).click()
    await ui.expect_device_state("Status", "Pending")
    drawer = await ui.open_notifications()
    note = ui.notification(f"Caller ID code for {NUMBER} (seven.io)")
    line = note.get_by_text(re.compile(r"type the code \d{6}"))
    await expect(line).to_be_visible()
    code = code_in(await line.inner_text())
    await ui.shot("device-page-code-in-notification", drawer)
    await ui.close_notifications()
    await _type_on_the_phone(sim_url, NUMBER.replace(" ", ""), code)
    await ui.expect_device_state("Status", "Validated", wait=UPDATE)
    await ui.expect_device_state("Caller ID", "Validated")
    # Pressed once more, seven.io places no call (it knows the number): the press says so.
    await _entity_row(ui, "Validate again").get_by_role("button", name=press).click()
    toast = page.locator("ha-toast")
    await expect(toast).to_contain_text(
        "has already validated this number, so it placed no call"
    )
    await ui.stable(toast)
    await ui.shot("device-page-validated-already")
    await ui.expect_device_state("Status", "Validated")
    await expect(toast).to_be_hidden(timeout=UPDATE)  # it covers Test call to

    # Test call to Alice (added meanwhile), picked beside the button.
    await _add_recipient(
        hass_api,
        entry["entry_id"],
        name="Alice",
        number="030 1234567",
        caller_id=NUMBER.replace(" ", ""),
    )
    select = f"select.{re.sub(r'\D+', '_', NUMBER).strip('_')}_test_call_to"
    await until(
        lambda: hass_api.state(select),
        lambda state: state is not None and "Alice" in state["attributes"]["options"],
    )
    await _entity_row(ui, "Test call to").click()
    await _entity_row(ui, "Test call to").get_by_text("Alice", exact=True).click()
    await expect(_entity_row(ui, "Test call to")).to_contain_text("Alice")
    await _entity_row(ui, "Test call").get_by_role("button", name=press).click()
    await ui.expect_device_state("Last call", "Calling", wait=UPDATE)
    await ui.shot("device-page-test-call")
    (voice,) = [r for r in sim.requests if r["path"] == "/api/voice"]
    assert voice["params"]["from"] == NUMBER.replace(" ", "")
    assert voice["params"]["to"] == "+49301234567"

    # The other number, from its row under the account.
    await ui.open_integration("callerid")
    row = page.locator("ha-config-sub-entry-row").filter(
        has=page.get_by_text(OTHER, exact=True)
    )
    await row.get_by_role("button", name="Validate again").click()
    await expect(ui.flow.get_by_text(f"Validate {OTHER} again")).to_be_visible()
    await ui.submit()
    calling = ui.flow.get_by_text(re.compile(r"seven\.io is calling .*: answer"))
    await expect(calling).to_be_visible()
    code = re.search(r"type (\d{6})", await calling.inner_text())
    assert code is not None
    await _type_on_the_phone(sim_url, OTHER.replace(" ", ""), code.group(1))
    await expect(ui.flow.get_by_text(f"{OTHER} is validated")).to_be_visible(
        timeout=UPDATE
    )
    await ui.close_flow()
    await hass_api.wait_for_state(entity_ids(OTHER)[0], "on")
    await _add_recipient(
        hass_api,
        entry["entry_id"],
        name="Bob",
        number="040 1234567",
        caller_id=OTHER.replace(" ", ""),
    )
    await entry_loaded(hass_api, entry["entry_id"])
    await ui.open_integration("callerid")

    # The row's own menu (its devices' rows have theirs below it).
    await row.get_by_role("button", name=ui.t("ui.common.menu")).first.click()
    await page.get_by_role("menuitem", name=re.compile("^Delete")).click()
    confirm = page.locator("dialog-box").get_by_role(
        "button", name=re.compile("^Delete"), exact=False
    )
    await ui.stable(confirm)
    await ui.shot("caller-id-delete-confirm")
    await confirm.click()
    await ui.dialog_closed(confirm)
    await expect(row).to_have_count(0)
    await until(lambda: hass_api.state(entity_ids(OTHER)[0]), lambda s: s is None)
    await ui.shot("caller-id-deleted")

    # Bob's calls came from it: a repair says so, until he is called from another.
    await until(lambda: _repairs(hass_api), lambda ids: RECIPIENTS_REPAIR in ids)
    await ui.goto("/config/repairs")
    repair = page.get_by_text("Recipients of seven.io cannot be called")
    await expect(repair).to_be_visible(timeout=UPDATE)
    await repair.click()
    reason = page.get_by_text(
        re.compile(r"^Calls to Bob come from \+49 30 123456: no longer")
    )
    await ui.stable(reason)
    await ui.shot("repair-recipient-caller-id-gone")
    await page.get_by_role("button", name=ui.t("ui.common.close"), exact=True).click()
    await ui.dialog_closed(reason)
    await ui.open_integration("callerid")
    bob = page.locator("ha-config-sub-entry-row").filter(
        has=page.get_by_text("Bob", exact=True)
    )
    await bob.get_by_role(
        "button", name=ui.t("ui.panel.config.integrations.config_entry.configure")
    ).click()
    await expect(ui.flow.get_by_text("Change the recipient")).to_be_visible()
    # The form offers the caller ID left that can call, not the one deleted.
    await expect(ui.flow.locator("ha-selector-select")).to_contain_text(NUMBER)
    await ui.shot("recipient-call-from-another")
    await ui.submit()
    await ui.close_flow()
    await until(lambda: _repairs(hass_api), lambda ids: RECIPIENTS_REPAIR not in ids)
    await ui.goto("/config/repairs")
    await expect(
        page.get_by_text("Recipients of seven.io cannot be called")
    ).to_have_count(0, timeout=UPDATE)
