"""One step: how many bare binary sensors, and whether each has a device of its own."""

from __future__ import annotations

from typing import Any

import probatio

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

from . import DOMAIN


class BenchFlow(ConfigFlow, domain=DOMAIN):
    """Create an entry with `count` sensors (and as many devices, with `devices`)."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the count."""
        if user_input is None:
            return self.async_show_form(
                step_id="user",
                data_schema=probatio.Schema(
                    {
                        probatio.Required("count"): int,
                        probatio.Optional("devices", default=False): bool,
                    }
                ),
            )
        return self.async_create_entry(
            title=f"{user_input['count']} sensors", data=user_input
        )
