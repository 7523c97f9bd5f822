"""Config flow: ask for the seven.io API key and check it before it is stored."""

from __future__ import annotations

from collections.abc import Mapping
import hashlib
from typing import Any

import probatio

from homeassistant.components import webhook
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .api import (
    DEFAULT_BASE_URL,
    SevenAuthenticationError,
    SevenClient,
    SevenConnectionError,
    SevenMissingScopeError,
)
from .const import (
    CONF_BASE_URL,
    CONF_CODE_LIFETIME,
    CONF_COOLDOWN,
    DEFAULT_CODE_LIFETIME,
    DEFAULT_COOLDOWN,
    DOMAIN,
    LOGGER,
)

TITLE = "seven.io"

SECTION_ADVANCED = "advanced"

KEY_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_API_KEY): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        )
    }
)
SCHEMA = KEY_SCHEMA.extend(
    {
        # Another gateway (such as the project's simulator) for testing; collapsed.
        probatio.Optional(SECTION_ADVANCED, default={}): section(
            probatio.Schema(
                {
                    probatio.Required(
                        CONF_BASE_URL, default=DEFAULT_BASE_URL
                    ): TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
                }
            ),
            {"collapsed": True},
        ),
    }
)


def _unique_id(api_key: str) -> str:
    """Identify an account by its key without storing the key as the id."""
    return hashlib.sha256(api_key.encode()).hexdigest()


class CallerIdConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a seven.io account."""

    VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> CallerIdOptionsFlow:
        """Return the options flow."""
        return CallerIdOptionsFlow()

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the API key."""
        errors: dict[str, str] = {}
        if user_input is not None:
            await self.async_set_unique_id(_unique_id(user_input[CONF_API_KEY]))
            self._abort_if_unique_id_configured()
            if not (errors := await self._async_check(user_input)):
                return self.async_create_entry(
                    title=TITLE,
                    data={
                        **_entry_data(user_input),
                        CONF_WEBHOOK_ID: webhook.async_generate_id(),
                    },
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start reauthentication after seven.io rejected the key."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new API key."""
        return await self._async_step_replace_key(
            "reauth_confirm", self._get_reauth_entry(), user_input, KEY_SCHEMA
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the API key or the gateway URL."""
        return await self._async_step_replace_key(
            "reconfigure", self._get_reconfigure_entry(), user_input, SCHEMA
        )

    async def _async_step_replace_key(
        self,
        step_id: str,
        entry: ConfigEntry,
        user_input: dict[str, Any] | None,
        schema: probatio.Schema,
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        current_url = entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL)
        if user_input is not None:
            if schema is KEY_SCHEMA:
                user_input = {
                    **user_input,
                    SECTION_ADVANCED: {CONF_BASE_URL: current_url},
                }
            unique_id = _unique_id(user_input[CONF_API_KEY])
            if unique_id != entry.unique_id:
                await self.async_set_unique_id(unique_id)
                self._abort_if_unique_id_configured()
            if not (errors := await self._async_check(user_input)):
                kept = {
                    key: value
                    for key, value in entry.data.items()
                    if key not in (CONF_API_KEY, CONF_BASE_URL)
                }
                return self.async_update_reload_and_abort(
                    entry, unique_id=unique_id, data=kept | _entry_data(user_input)
                )
        suggested = user_input or {SECTION_ADVANCED: {CONF_BASE_URL: current_url}}
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )

    async def _async_check(self, user_input: dict[str, Any]) -> dict[str, str]:
        """Return form errors; none when the key authenticates."""
        client = SevenClient(
            async_get_clientsession(self.hass),
            user_input[CONF_API_KEY],
            base_url=_base_url(user_input),
        )
        try:
            await client.balance()
        except SevenMissingScopeError:
            pass  # The key authenticates; it only may not read the balance.
        except SevenAuthenticationError:
            return {"base": "invalid_auth"}
        except SevenConnectionError:
            return {"base": "cannot_connect"}
        except Exception:  # noqa: BLE001 - the form must answer whatever happened
            LOGGER.exception("Unexpected error while checking the seven.io key")
            return {"base": "unknown"}
        return {}


OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Required(
            CONF_CODE_LIFETIME, default=DEFAULT_CODE_LIFETIME
        ): NumberSelector(
            NumberSelectorConfig(
                min=1,
                max=120,
                step=1,
                unit_of_measurement="min",
                mode=NumberSelectorMode.BOX,
            )
        ),
        probatio.Required(CONF_COOLDOWN, default=DEFAULT_COOLDOWN): NumberSelector(
            NumberSelectorConfig(
                min=0,
                max=3600,
                step=1,
                unit_of_measurement="s",
                mode=NumberSelectorMode.BOX,
            )
        ),
    }
)


class CallerIdOptionsFlow(OptionsFlowWithReload):
    """How long a code lasts, and how soon a number may be called again."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and store the options."""
        if user_input is not None:
            return self.async_create_entry(
                data={key: int(value) for key, value in user_input.items()}
            )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA, self.config_entry.options
            ),
        )


def _base_url(user_input: dict[str, Any]) -> str:
    return str(user_input[SECTION_ADVANCED][CONF_BASE_URL]).rstrip("/")


def _entry_data(user_input: dict[str, Any]) -> dict[str, Any]:
    """Return what the entry stores; the gateway URL only where it is not seven.io's."""
    data = {CONF_API_KEY: user_input[CONF_API_KEY]}
    if (base_url := _base_url(user_input)) != DEFAULT_BASE_URL:
        data[CONF_BASE_URL] = base_url
    return data
