"""One step: how many indexes, whether each has a device, and its entities."""

from __future__ import annotations

from typing import Any

import probatio

from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryData,
)

from .const import DOMAIN


class BenchFlow(ConfigFlow, domain=DOMAIN):
    """Create an entry with `count` indexes (each a device of its own, with `devices`).

    Each index has `entities` enabled entities (a binary sensor, then sensors) and
    `disabled` sensors disabled by default, all on its device. With `rows` each index is
    a subentry (as each number is a row of the integration's) and its entities are added
    on it. With `storage` (a Store key, with `storage_version` and
    `storage_minor_version`) its setup loads that file.
    """

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the count and the entities per index."""
        if user_input is None:
            return self.async_show_form(
                step_id="user",
                data_schema=probatio.Schema(
                    {
                        probatio.Required("count"): int,
                        probatio.Optional("devices", default=False): bool,
                        probatio.Optional("rows", default=False): bool,
                        probatio.Optional("entities", default=1): probatio.All(
                            int, probatio.Range(min=1)
                        ),
                        probatio.Optional("disabled", default=0): probatio.All(
                            int, probatio.Range(min=0)
                        ),
                        # A Store file to load at setup: its key and versions.
                        probatio.Optional("storage"): str,
                        probatio.Optional("storage_version"): int,
                        probatio.Optional("storage_minor_version"): int,
                    }
                ),
            )
        rows: list[ConfigSubentryData] = [
            {"subentry_type": "row", "title": f"row {index}", "unique_id": str(index)}
            | {"data": {}}
            for index in range(user_input["count"] if user_input["rows"] else 0)
        ]
        return self.async_create_entry(
            title=f"{user_input['count']} sensors", data=user_input, subentries=rows
        )
