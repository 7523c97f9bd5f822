"""The blueprints in the automation editor, on a plain install, in Chromium.

"Validate a number and send me the code", without a phone app or an input_button
helper: a person picks the blueprint under Settings > Automations & scenes > Blueprints,
types the number, leaves the phone empty, saves the automation in the editor, runs its
actions from its menu and finds the code in the notifications. "Call until someone
answers", without a trigger: picked, filled in, saved, run, and the call placed ends
the run once answered. REST and websocket calls only set up the account and read
results. Screenshots go to test-artifacts/journeys/.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import re
import shutil
from typing import Any

import aiohttp
from playwright.async_api import Locator, expect
import pytest

from callerid_dev.gateway_sim import Simulator
from callerid_dev.harness import PROJECT, HassClient, HassProcess

from .test_journeys import (
    _answered_after_42_s,
    _validated_account,
    pick_caller_id,
    until,
)
from .ui import VIEWPORT, HomeAssistantUI

pytestmark = pytest.mark.e2e

BLUEPRINTS = PROJECT / "blueprints" / "automation" / "callerid"
BLUEPRINT = BLUEPRINTS / "validate_and_notify.yaml"
BLUEPRINT_PATH = "callerid/validate_and_notify.yaml"
BLUEPRINT_NAME = "Validate a number and send me the code"
CALL_PATH = "callerid/call_until_answered.yaml"
CALL_NAME = "Call until someone answers"
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


async def _install_blueprints(hass_process: HassProcess, hass_api: HassClient) -> None:
    """Put this checkout's blueprints where Home Assistant finds them; check they load."""
    folder = hass_process.config_dir / "blueprints" / "automation" / "callerid"
    folder.mkdir(parents=True, exist_ok=True)
    for blueprint in BLUEPRINTS.glob("*.yaml"):
        shutil.copy(blueprint, folder / blueprint.name)
    # This checkout's blueprints and integration, not another checkout's.
    here = Path(__file__).resolve().parent.parent
    assert BLUEPRINTS.is_relative_to(here), BLUEPRINTS
    integration = hass_process.config_dir / "custom_components" / "callerid"
    assert integration.resolve() == here / "custom_components" / "callerid"
    (listed,) = await hass_api.ws([{"type": "blueprint/list", "domain": "automation"}])
    for path in (BLUEPRINT_PATH, CALL_PATH):
        assert "error" not in listed[path], listed


async def _open_blueprint(ui: HomeAssistantUI, name: str, shot: str) -> None:
    """Go to Settings > Automations & scenes > Blueprints by clicking; open `name`."""
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
    row = ui.page.get_by_role("row").filter(has_text=name)
    await expect(row).to_be_visible()
    await ui.shot(shot)
    await row.get_by_text(name, exact=True).click()


def _input(ui: HomeAssistantUI, name: str) -> Locator:
    """Return the editor's row of the blueprint input called `name`."""
    return ui.page.locator("ha-settings-row").filter(
        has=ui.page.get_by_text(name, exact=True)
    )


async def _save(
    ui: HomeAssistantUI, hass_api: HassClient, prefix: str
) -> dict[str, Any]:
    """Save the automation in the editor; return the saved automation (its config)."""
    # The blueprint's name is the automation's (a frontend that asks for a name first
    # gets it confirmed).
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
        await ui.shot(f"{prefix}-name-dialog")
        await rename.get_by_role("button", name=ui.t("ui.common.save")).click()
    await expect(ui.page).to_have_url(re.compile(r"/config/automation/edit/(?!new)"))
    await expect(traces).to_be_visible()
    await ui.shot(f"{prefix}-saved")
    (saved,) = await until(
        lambda: automation_configs(hass_api), lambda configs: len(configs) == 1
    )
    await hass_api.wait_for_state(saved["entity_id"], "on")
    return saved


async def _run_actions(ui: HomeAssistantUI) -> None:
    """Run actions, from the automation's menu."""
    await (
        ui.page.locator("ha-automation-editor")
        .get_by_role("button", name=ui.t("ui.common.menu"))
        .first.click()
    )
    await ui.page.get_by_role(
        "menuitem", name=ui.t("ui.panel.config.automation.editor.run")
    ).click()


async def _finished(hass_api: HassClient, saved: dict[str, Any]) -> None:
    """Check that the automation ran once, to its end, without an error."""
    (traces,) = await hass_api.ws(
        [{"type": "trace/list", "domain": "automation", "item_id": saved["id"]}]
    )
    assert len(traces) == 1, traces
    (trace,) = traces
    assert trace["state"] == "stopped", trace
    assert trace["script_execution"] == "finished", trace
    assert "error" not in trace, trace


async def test_blueprint_on_a_plain_install(
    simulator: tuple[Simulator, str],
    hass_process: HassProcess,
    hass_api: HassClient,
    ui: HomeAssistantUI,
) -> None:
    """Save the blueprint's automation with only a number, run it: the code is shown."""
    sim, sim_url = simulator
    # What the journey starts from: one account, the blueprints, and a plain install.
    await hass_api.add_callerid("demo-key", f"{sim_url}/api")
    await _install_blueprints(hass_process, hass_api)
    components = (await hass_api.request("GET", "/api/config"))["components"]
    assert "mobile_app" not in components
    # (Home Assistant loads input_button for its helpers page; there is no helper.)
    states = await hass_api.request("GET", "/api/states")
    assert not [s for s in states if s["entity_id"].startswith("input_button.")]

    await _open_blueprint(ui, BLUEPRINT_NAME, "blueprint-plain-list")
    # The editor shows the blueprint's inputs: only the number is required.
    number_row = _input(ui, "Number to validate")
    await expect(number_row).to_be_visible()
    await expect(_input(ui, "Phone to send the code to")).to_be_visible()
    # The whole form, the last input too (a taller window for these two screenshots).
    form = ui.page.locator("ha-card.blueprint")
    await ui.page.set_viewport_size({"width": 1200, "height": 1100})
    await ui.shot("blueprint-plain-empty-form", form)
    await number_row.get_by_role("textbox").fill(NUMBER)
    await ui.shot("blueprint-plain-filled", form)
    await ui.page.set_viewport_size(VIEWPORT)

    saved = await _save(ui, hass_api, "blueprint-plain")
    assert saved["use_blueprint"] == {
        "path": BLUEPRINT_PATH,
        "input": {"number": NUMBER},
    }, saved
    await _run_actions(ui)

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
    await _finished(hass_api, saved)
    await ui.goto(f"/config/automation/trace/{saved['id']}")
    await expect(ui.page.locator("ha-automation-trace")).to_be_visible()
    await ui.shot("blueprint-plain-trace")


async def test_call_until_answered_without_a_trigger(
    simulator: tuple[Simulator, str],
    hass_process: HassProcess,
    hass_api: HassClient,
    http: aiohttp.ClientSession,
    ui: HomeAssistantUI,
) -> None:
    """Fill in the escalation blueprint, save it without a trigger, run it: it calls."""
    sim, _ = simulator
    await _validated_account(simulator, hass_api, http)
    await _install_blueprints(hass_process, hass_api)

    await _open_blueprint(ui, CALL_NAME, "blueprint-call-list")
    await pick_caller_id(_input(ui, "Caller ID"))
    people = _input(ui, "Numbers to call, in order")
    await people.get_by_role("button", name=ui.t("ui.common.add")).click()
    await people.get_by_role("textbox").first.fill("030 1234567")
    await _input(ui, "Message").get_by_role("textbox").fill("The alarm went off.")
    form = ui.page.locator("ha-card.blueprint")
    await ui.page.set_viewport_size({"width": 1200, "height": 1400})
    await ui.shot("blueprint-call-filled", form)
    await ui.page.set_viewport_size(VIEWPORT)

    # No trigger: saved all the same (Home Assistant refused a required one unset).
    saved = await _save(ui, hass_api, "blueprint-call")
    assert "when" not in saved["use_blueprint"]["input"], saved
    await _run_actions(ui)

    # The call is placed; answered, it ends the run.
    await until(lambda: asyncio.sleep(0, sim.calls), bool)
    (voice,) = [r for r in sim.requests if r["path"] == "/api/voice"]
    assert voice["params"]["to"] == "+49301234567"
    assert voice["params"]["text"] == "The alarm went off."
    await _answered_after_42_s(simulator, http)
    await until(
        lambda: hass_api.ws(
            [{"type": "trace/list", "domain": "automation", "item_id": saved["id"]}]
        ),
        lambda answer: [t["state"] for t in answer[0]] == ["stopped"],
    )
    await _finished(hass_api, saved)
    await ui.goto(f"/config/automation/trace/{saved['id']}")
    await expect(ui.page.locator("ha-automation-trace")).to_be_visible()
    await ui.shot("blueprint-call-trace")


async def _pending(sim: Simulator) -> dict[str, str]:
    """Return the codes of the numbers the simulator is ringing, by their digits."""
    return {number: pending.code for number, pending in sim.pending.items()}
