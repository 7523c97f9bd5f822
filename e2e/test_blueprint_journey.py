"""The blueprint "Validate a number and send me the code" on a plain install, in Chromium.

No phone app and no input_button helper: a person picks the blueprint under Settings >
Automations & scenes > Blueprints, types the number, leaves the phone empty, saves the
automation in the editor, runs its actions from its menu and finds the code in the
notifications. REST and websocket calls only set up the account and read results.
Screenshots go to test-artifacts/journeys/.
"""

from __future__ import annotations

from pathlib import Path
import re
import shutil
from typing import Any

from playwright.async_api import expect
import pytest

from callerid_dev.gateway_sim import Simulator
from callerid_dev.harness import PROJECT, HassClient, HassProcess

from .test_journeys import until
from .ui import VIEWPORT, HomeAssistantUI

pytestmark = pytest.mark.e2e

BLUEPRINT = (
    PROJECT / "blueprints" / "automation" / "callerid" / "validate_and_notify.yaml"
)
BLUEPRINT_PATH = "callerid/validate_and_notify.yaml"
BLUEPRINT_NAME = "Validate a number and send me the code"
NUMBER = "+49 176 12345678"
# How long a run's notification may take to reach the page (ms).
UPDATE = 15_000


async def automation_configs(hass_api: HassClient) -> list[dict[str, Any]]:
    """Return the automations the editor saved (their ids and configs)."""
    states = await hass_api.request("GET", "/api/states")
    configs = []
    for state in states:
        if not state["entity_id"].startswith("automation."):
            continue
        if (automation_id := state["attributes"].get("id")) is None:
            continue
        config = await hass_api.request(
            "GET", f"/api/config/automation/config/{automation_id}"
        )
        configs.append({"entity_id": state["entity_id"], **config})
    return configs


async def test_blueprint_on_a_plain_install(
    simulator: tuple[Simulator, str],
    hass_process: HassProcess,
    hass_api: HassClient,
    ui: HomeAssistantUI,
) -> None:
    """Save the blueprint's automation with only a number, run it: the code is shown."""
    sim, sim_url = simulator
    # What the journey starts from: one account, the blueprint, and a plain install.
    await hass_api.add_callerid("demo-key", f"{sim_url}/api")
    folder = hass_process.config_dir / "blueprints" / "automation" / "callerid"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(BLUEPRINT, folder / BLUEPRINT.name)
    # This checkout's blueprint and integration, not another checkout's.
    here = Path(__file__).resolve().parent.parent
    assert BLUEPRINT.is_relative_to(here), BLUEPRINT
    integration = hass_process.config_dir / "custom_components" / "callerid"
    assert integration.resolve() == here / "custom_components" / "callerid"
    (listed,) = await hass_api.ws([{"type": "blueprint/list", "domain": "automation"}])
    assert "error" not in listed[BLUEPRINT_PATH], listed
    components = (await hass_api.request("GET", "/api/config"))["components"]
    assert "mobile_app" not in components
    # (Home Assistant loads input_button for its helpers page; there is no helper.)
    states = await hass_api.request("GET", "/api/states")
    assert not [s for s in states if s["entity_id"].startswith("input_button.")]

    # Settings > Automations & scenes > Blueprints, by clicking.
    await ui.goto("/config/dashboard")
    await ui.page.get_by_role(
        "link",
        name=re.compile(
            "^" + re.escape(ui.t("ui.panel.config.dashboard.automations.main"))
        ),
    ).click()
    # The page's tabs: tabs in some frontends, links in others.
    blueprints = ui.t("ui.panel.config.blueprint.caption")
    await (
        ui.page.get_by_role("tab", name=blueprints)
        .or_(ui.page.get_by_role("link", name=blueprints, exact=True))
        .first.click()
    )
    row = ui.page.get_by_role("row").filter(has_text=BLUEPRINT_NAME)
    await expect(row).to_be_visible()
    await ui.shot("blueprint-plain-list")
    await row.get_by_text(BLUEPRINT_NAME, exact=True).click()

    # The editor shows the blueprint's inputs: only the number is required.
    number_row = ui.page.locator("ha-settings-row").filter(
        has=ui.page.get_by_text("Number to validate", exact=True)
    )
    await expect(number_row).to_be_visible()
    phone_row = ui.page.locator("ha-settings-row").filter(
        has=ui.page.get_by_text("Phone to send the code to", exact=True)
    )
    await expect(phone_row).to_be_visible()
    # The whole form, the last input too (a taller window for these two screenshots).
    form = ui.page.locator("ha-card.blueprint")
    await ui.page.set_viewport_size({"width": 1200, "height": 1100})
    await ui.shot("blueprint-plain-empty-form", form)
    await number_row.get_by_role("textbox").fill(NUMBER)
    await ui.shot("blueprint-plain-filled", form)
    await ui.page.set_viewport_size(VIEWPORT)

    # Save. The blueprint's name is the automation's (a frontend that asks for a
    # name first gets it confirmed).
    await ui.page.get_by_role("button", name=ui.t("ui.common.save")).last.click()
    rename = ui.page.locator("dialog-automation-rename").get_by_role("dialog")
    # Traces: offered once the automation exists (a button or a link, by frontend).
    traces_text = ui.t("ui.panel.config.automation.editor.show_trace")
    traces = (
        ui.page.get_by_role("button", name=traces_text)
        .or_(ui.page.get_by_role("link", name=traces_text, exact=True))
        .first
    )
    await expect(rename.or_(traces).first).to_be_visible()
    if await rename.is_visible():
        await ui.shot("blueprint-plain-name-dialog")
        await rename.get_by_role("button", name=ui.t("ui.common.save")).click()
    await expect(ui.page).to_have_url(re.compile(r"/config/automation/edit/(?!new)"))
    await expect(traces).to_be_visible()
    await ui.shot("blueprint-plain-saved")

    (saved,) = await until(
        lambda: automation_configs(hass_api), lambda configs: len(configs) == 1
    )
    assert saved["use_blueprint"] == {
        "path": BLUEPRINT_PATH,
        "input": {"number": NUMBER},
    }, saved
    await hass_api.wait_for_state(saved["entity_id"], "on")

    # Run actions, from the automation's menu.
    await (
        ui.page.locator("ha-automation-editor")
        .get_by_role("button", name=ui.t("ui.common.menu"))
        .first.click()
    )
    await ui.page.get_by_role(
        "menuitem", name=ui.t("ui.panel.config.automation.editor.run")
    ).click()

    # seven.io rings the number; the code is in Home Assistant's notifications.
    pending = await until(lambda: _pending(sim), lambda codes: "4917612345678" in codes)
    code = pending["4917612345678"]
    drawer = await ui.open_notifications()
    shown = ui.notification(f"Caller ID code for {NUMBER}")
    await expect(shown).to_be_visible(timeout=UPDATE)
    await expect(shown).to_contain_text(code)
    await ui.shot("blueprint-plain-code", drawer)
    await ui.close_notifications()

    # The run ended without an error, and without waiting for a phone.
    (traces,) = await hass_api.ws(
        [{"type": "trace/list", "domain": "automation", "item_id": saved["id"]}]
    )
    assert len(traces) == 1, traces
    (trace,) = traces
    assert trace["state"] == "stopped", trace
    assert trace["script_execution"] == "finished", trace
    assert "error" not in trace, trace
    await ui.goto(f"/config/automation/trace/{saved['id']}")
    await expect(ui.page.locator("ha-automation-trace")).to_be_visible()
    await ui.shot("blueprint-plain-trace")


async def _pending(sim: Simulator) -> dict[str, str]:
    """Return the codes of the numbers the simulator is ringing, by their digits."""
    return {number: pending.code for number, pending in sim.pending.items()}
