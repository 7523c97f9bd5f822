"""Two seven.io accounts that validated the same number, told apart in the frontend.

Issue 16: wherever the number is shown or picked (its device page, the caller ID
picker of callerid.call, the device picker of the integration's triggers) a person
sees which account it belongs to, by the account's name. REST and the simulator's
keypad set up the two accounts and their validations; the rest happens in Chromium.
Screenshots go to test-artifacts/journeys/accounts-*.png.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
from playwright.async_api import expect
import pytest

from callerid_dev.gateway_sim import ALL_SCOPES, Simulator
from callerid_dev.harness import PROJECT, HassClient

from .ui import HomeAssistantUI

pytestmark = pytest.mark.e2e

INTEGRATION = PROJECT / "custom_components" / "callerid"
INTEGRATION_NAME = json.loads((INTEGRATION / "manifest.json").read_text())["name"]
TEXTS = json.loads((INTEGRATION / "translations" / "en.json").read_text())
NUMBER = "+49 176 12345678"
# Each account's key on the simulated seven.io, and its Caller ID sensor: the first
# account's keeps the id from the number alone, the second's gets Home Assistant's _2.
ACCOUNTS = {
    "Home": ("demo-key", "binary_sensor.49_176_12345678_caller_id"),
    "Office": ("office-key", "binary_sensor.49_176_12345678_caller_id_2"),
}
# Home Assistant's words for a reconfiguration that succeeded, or the integration's.
UPDATED = re.compile("The API key was updated.|Reconfiguration was successful")
# How long a callback may take to reach Home Assistant (ms).
UPDATE = 15_000


def device_name(account: str) -> str:
    """Return the name of the number's device of an account."""
    return f"{NUMBER} ({account})"


async def sim_post(
    http: aiohttp.ClientSession, sim_url: str, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Use the simulator's control API: the phone's keypad, seven.io's accounts."""
    async with http.post(f"{sim_url}/_sim/{path}", json=body) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def sim_get(http: aiohttp.ClientSession, sim_url: str) -> dict[str, Any]:
    """Return what the simulator holds (its hooks, with the key that made each)."""
    async with http.get(f"{sim_url}/_sim/state") as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def add_account(hass_api: HassClient, name: str, key: str, gateway: str) -> str:
    """Run the config flow with a name of the account's own; return the entry id."""
    flow = await hass_api.request(
        "POST", "/api/config/config_entries/flow", {"handler": "callerid"}
    )
    result = await hass_api.request(
        "POST",
        f"/api/config/config_entries/flow/{flow['flow_id']}",
        {"name": name, "api_key": key, "advanced": {"base_url": gateway}},
    )
    assert result.get("type") == "create_entry", result
    assert result["title"] == name
    return str(result["result"]["entry_id"])


async def validate_on(
    hass_api: HassClient, http: aiohttp.ClientSession, sim_url: str, entry_id: str
) -> None:
    """Validate the number on one account: the action, then the phone's keypad."""
    result = await hass_api.request(
        "POST",
        "/api/services/callerid/validate?return_response",
        {"number": NUMBER, "config_entry_id": entry_id},
    )
    code = result["service_response"]["code"]
    typed = await sim_post(http, sim_url, "keypad", {"number": NUMBER, "digits": code})
    assert typed["validated"] is True, typed


@pytest.fixture
async def two_accounts(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
) -> dict[str, str]:
    """Set up "Home" and "Office", each with NUMBER validated; return their entry ids."""
    _, sim_url = simulator
    await sim_post(
        http, sim_url, "account", {"key": "office-key", "scopes": sorted(ALL_SCOPES)}
    )
    entries = {}
    for name, (key, caller_id) in ACCOUNTS.items():
        entries[name] = await add_account(hass_api, name, key, f"{sim_url}/api")
        await validate_on(hass_api, http, sim_url, entries[name])
        await hass_api.wait_for_state(caller_id, "on")
    return entries


async def test_two_accounts_one_number(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    two_accounts: dict[str, str],
    ui: HomeAssistantUI,
) -> None:
    """The device pages, the call's caller ID picker and the trigger's device picker."""
    sim, _ = simulator
    page = ui.page

    # The integration's page lists both devices; each page names its account.
    for account in ACCOUNTS:
        await ui.open_integration("callerid")
        await page.get_by_role(
            "button", name=re.compile(re.escape(device_name(account)))
        ).first.click()
        await expect(page).to_have_url(re.compile("/config/devices/device/"))
        await expect(
            page.get_by_text(device_name(account), exact=True).first
        ).to_be_visible()
        await ui.expect_device_state("Caller ID", "Validated")
        await ui.shot(f"accounts-device-{account.lower()}")

    # Settings > Tools > Actions: callerid.call's caller ID picker has a row per account.
    await ui.goto("/config/tools/action")
    picker = page.locator("ha-service-picker")
    await picker.click()
    await picker.get_by_role("textbox").fill("callerid.call")
    await picker.get_by_text("callerid.call", exact=True).click()
    row = page.locator("ha-settings-row")
    entity = row.filter(has=page.get_by_text("Caller ID", exact=True))
    await entity.locator("ha-entity-picker").click()
    await entity.get_by_role("textbox").first.fill("12345678")
    for account in ACCOUNTS:
        await expect(
            entity.get_by_text(device_name(account), exact=True)
        ).to_be_visible()
    await ui.shot("accounts-call-picker")
    await entity.get_by_text(device_name("Office"), exact=True).click()
    await expect(entity.get_by_text(device_name("Office"), exact=True)).to_be_visible()
    await expect(entity.get_by_text(device_name("Home"), exact=True)).to_have_count(0)
    to = row.filter(has=page.get_by_text("To", exact=True))
    # Optional (recipients may be called instead): ticked to be sent.
    await to.locator("ha-checkbox").click()
    await to.get_by_role("button", name=ui.t("ui.common.add")).click()
    await to.get_by_role("textbox").first.fill("030 1234567")
    await (
        row.filter(has=page.get_by_text("Message", exact=True))
        .get_by_role("textbox")
        .fill("The office alarm went off.")
    )
    await ui.shot("accounts-call-picked")
    await page.get_by_role(
        "button", name=ui.t("ui.panel.config.tools.tabs.actions.call_service")
    ).click()
    response = ui.action_response()
    await expect(response).to_be_visible()
    text = await response.locator(".cm-content").inner_text()
    assert "success: true" in text, text
    # Billed to the account picked: the call went out with the Office key.
    (voice,) = [r for r in sim.requests if r["path"] == "/api/voice"]
    assert voice["headers"]["X-Api-Key"] == "office-key", voice

    # The automation editor: the "Call ended" trigger's device picker.
    await ui.goto("/config/automation/edit/new")
    await page.get_by_role(
        "button", name=ui.t("ui.panel.config.automation.editor.triggers.add")
    ).click()
    dialog = page.locator("add-automation-element-dialog")
    call_ended = TEXTS["triggers"]["call_ended"]["name"]
    await dialog.get_by_role("textbox").fill(call_ended)
    await dialog.get_by_text(call_ended, exact=True).click()
    trigger = page.locator("ha-automation-trigger-platform")
    await trigger.locator("ha-checkbox").nth(0).click()
    devices = trigger.locator("ha-device-picker").last
    await devices.click()
    await devices.get_by_role("textbox").fill(NUMBER)
    for account in ACCOUNTS:
        await expect(
            devices.get_by_text(device_name(account), exact=True)
        ).to_be_visible()
    await ui.shot("accounts-trigger-picker")
    await devices.get_by_text(device_name("Home"), exact=True).click()
    # The list has gone; the chosen device is shown by its name, an empty picker below.
    chosen = trigger.locator("ha-device-picker")
    await expect(chosen).to_have_count(2)
    await expect(trigger.get_by_text(device_name("Office"), exact=True)).to_be_hidden()
    await expect(
        chosen.first.get_by_text(device_name("Home"), exact=True)
    ).to_be_visible()
    await ui.stable(chosen.last)
    await ui.shot("accounts-trigger-picked")
    # Saved, the trigger watches the Home account's device, not the Office one's.
    await (
        page.locator("ha-automation-editor")
        .get_by_role("button", name=ui.t("ui.common.save"))
        .click()
    )
    save = page.locator("ha-dialog-automation-save")
    await save.get_by_role("textbox", name="Name").fill("Home line call ended")
    await save.get_by_role("button", name=ui.t("ui.common.save"), exact=True).click()
    await expect(page).to_have_url(re.compile(r"/config/automation/edit/(?!new)"))
    saved = await hass_api.request(
        "GET", f"/api/config/automation/config/{page.url.rsplit('/', 1)[-1]}"
    )
    (devices_list,) = await hass_api.ws([{"type": "config/device_registry/list"}])
    home = next(
        d["id"]
        for d in devices_list
        if d["config_entry_id"] == two_accounts["Home"] and d["model"] == "Caller ID"
    )
    assert saved["triggers"][0]["options"]["device_id"] == [home], saved


async def test_name_of_another_account_refused(
    simulator: tuple[Simulator, str],
    two_accounts: dict[str, str],
    ui: HomeAssistantUI,
) -> None:
    """A third account may not be called "Office": the form says so at the name."""
    _, sim_url = simulator
    user = TEXTS["config"]["step"]["user"]
    search = await ui.open_add_integration()
    await search.fill("seven")
    await (
        ui.page.locator("dialog-add-integration")
        .get_by_role("button", name=INTEGRATION_NAME)
        .click()
    )
    await expect(ui.field(user["data"]["name"])).to_be_visible()
    await ui.fill(
        {user["data"]["name"]: "Office", user["data"]["api_key"]: "third-key"}
    )
    await ui.expand(user["sections"]["advanced"]["name"])
    await ui.fill({user["sections"]["advanced"]["data"]["base_url"]: f"{sim_url}/api"})
    await ui.submit()
    await expect(ui.flow_error(TEXTS["config"]["error"]["name_taken"])).to_be_visible()
    await expect(ui.field(user["data"]["name"])).to_have_value("Office")
    await ui.shot("accounts-name-taken")


async def test_reconfigure_to_another_account(
    simulator: tuple[Simulator, str],
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    ui: HomeAssistantUI,
) -> None:
    """Another account's key: the dialog says the numbers need validating again.

    seven.io lists the entry's hook only under the old key; once submitted, the old
    account's hook is gone (deleted with the old key) and the number shows Failed.
    """
    _, sim_url = simulator
    home_key, caller_id = ACCOUNTS["Home"]
    entry_id = await add_account(hass_api, "Home", home_key, f"{sim_url}/api")
    await validate_on(hass_api, http, sim_url, entry_id)
    await hass_api.wait_for_state(caller_id, "on")
    await sim_post(
        http, sim_url, "account", {"key": "office-key", "scopes": sorted(ALL_SCOPES)}
    )
    hooks = (await sim_get(http, sim_url))["hooks"]
    assert [hook["key"] for hook in hooks] == [home_key], hooks

    steps = TEXTS["config"]["step"]
    await ui.open_integration("callerid")
    await ui.entry_menu("Home", "reconfigure")
    await expect(ui.flow.get_by_text("“Home”").first).to_be_visible()
    await ui.fill({steps["reconfigure"]["data"]["api_key"]: "office-key"})
    await ui.submit()
    await expect(ui.flow.get_by_text(steps["other_account"]["title"])).to_be_visible()
    await ui.shot("accounts-other-account")
    await ui.submit()
    await expect(ui.flow.get_by_text(UPDATED)).to_be_visible()
    await ui.close_flow()

    await hass_api.wait_for_state(caller_id, "off")
    hooks = (await sim_get(http, sim_url))["hooks"]
    assert [hook["key"] for hook in hooks] == ["office-key"], hooks
    await ui.open_integration("callerid")
    await ui.page.get_by_role(
        "button", name=re.compile(re.escape(device_name("Home")))
    ).first.click()
    await ui.expect_device_state("Status", "Failed")
    await ui.shot("accounts-other-account-device")
