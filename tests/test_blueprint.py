"""Tests of the shipped blueprint: Home Assistant accepts it and it uses the action."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import models
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.util import yaml as yaml_util

BLUEPRINT = (
    Path(__file__).parent.parent
    / "blueprints"
    / "automation"
    / "callerid"
    / "validate_and_notify.yaml"
)


async def test_blueprint_is_valid(hass: HomeAssistant) -> None:
    """The blueprint and the automation it makes pass Home Assistant's schemas."""
    blueprint = models.Blueprint(
        yaml_util.load_yaml_dict(BLUEPRINT),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    assert blueprint.name == "Validate a number and send me the code"
    assert set(blueprint.inputs) == {
        "button",
        "number",
        "account",
        "notify_device",
        "wait",
    }
    inputs = models.BlueprintInputs(
        blueprint,
        {
            "use_blueprint": {
                "path": "callerid/validate_and_notify.yaml",
                "input": {
                    "button": "input_button.validate_caller_id",
                    "number": "0176 12345678",
                    "notify_device": "0123456789abcdef",
                },
            }
        },
    )
    inputs.validate()
    config: dict[str, Any] = inputs.async_substitute()
    cv.TRIGGER_SCHEMA(config["triggers"])
    actions = cv.SCRIPT_SCHEMA(config["actions"])
    assert actions[0]["action"] == "callerid.validate"
    data = actions[0]["data"]
    assert data.async_render({"number": "0176", "account": ""}) == {"number": "0176"}
    assert data.async_render({"number": "0176", "account": "abc"}) == {
        "number": "0176",
        "config_entry_id": "abc",
    }
    assert config["variables"] == {"number": "0176 12345678", "account": ""}
