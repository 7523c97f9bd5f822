"""Config flow: ask for the seven.io API key and check it before it is stored."""

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
import hashlib
import itertools
from typing import Any

import probatio
from yarl import URL

from homeassistant.components import webhook
from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
    UnknownSubEntry,
)
from homeassistant.const import CONF_API_KEY, CONF_NAME, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_platform, selector
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util, slugify

from .api import (
    DEFAULT_BASE_URL,
    Hook,
    SevenApiError,
    SevenAuthenticationError,
    SevenConnectionError,
    SevenError,
    SevenMissingScopeError,
)
from .const import (
    CONF_BASE_URL,
    CONF_CALLER_ID,
    CONF_CODE_LIFETIME,
    CONF_COOLDOWN,
    CONF_MAX_CALLS,
    CONF_MIN_TALK_TIME,
    CONF_NUMBER,
    CONF_WARN_BELOW,
    DEFAULT_CODE_LIFETIME,
    DEFAULT_COOLDOWN,
    DEFAULT_MAX_CALLS,
    DEFAULT_MIN_TALK_TIME,
    DOMAIN,
    LOGGER,
    RECIPIENT_ENTITIES,
    SUBENTRY_CALLER_ID,
    SUBENTRY_RECIPIENT,
    ValidationStatus,
)
from .coordinator import CallerIdConfigEntry
from .helpers import async_entity_room, seven_client, signal
from .phone import format_number, to_e164
from .reachability import async_our_hooks, has_public_url

TITLE = "seven.io"

SECTION_ADVANCED = "advanced"
_THIS_MACHINE = ("127.0.0.1", "::1", "localhost")

_URL = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
)
_PASSWORD = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
_TEL = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.TEL)
)
KEY_SCHEMA = probatio.Schema({probatio.Required(CONF_API_KEY): _PASSWORD})


def _gateway_schema(*, collapsed: bool, key_required: bool = True) -> probatio.Schema:
    """Return the key and the gateway URL, which sits in a section of its own.

    The section has no default: the frontend would take it over the URL's, left empty.
    """
    key = probatio.Required if key_required else probatio.Optional
    return probatio.Schema(
        {
            key(CONF_API_KEY): _PASSWORD,
            probatio.Optional(SECTION_ADVANCED): section(
                probatio.Schema(
                    {probatio.Required(CONF_BASE_URL, default=DEFAULT_BASE_URL): _URL}
                ),
                {"collapsed": collapsed},
            ),
        }
    )


def _unique_id(api_key: str) -> str:
    """Identify an account by its key without storing the key as the id."""
    return hashlib.sha256(api_key.encode()).hexdigest()


class CallerIdConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a seven.io account."""

    VERSION = 1
    # A new key being replaced in: the entry and its data with the key; the old hooks.
    _change: tuple[CallerIdConfigEntry, dict[str, Any]]
    _old_hooks: list[Hook]

    @staticmethod
    @callback
    def async_get_options_flow(
        config_entry: CallerIdConfigEntry,
    ) -> CallerIdOptionsFlow:
        """Return the options flow."""
        return CallerIdOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: CallerIdConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return what an account's page adds: caller IDs, and the people it calls."""
        return {SUBENTRY_CALLER_ID: CallerIdFlow, SUBENTRY_RECIPIENT: RecipientFlow}

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a name for the account and its API key."""
        errors: dict[str, str] = {}
        taken = {entry.title.casefold() for entry in self._async_current_entries()}
        names = itertools.chain((TITLE,), (f"{TITLE} {n}" for n in itertools.count(2)))
        title = next(name for name in names if name not in taken)
        if user_input is not None:
            if _key_taken(self.hass, key := user_input[CONF_API_KEY]):
                errors = {CONF_API_KEY: "already_configured"}
            elif (name := user_input[CONF_NAME].strip() or title).casefold() in taken:
                errors = {CONF_NAME: "name_taken"}
            elif not (
                errors := await _async_check(self.hass, data := _entry_data(user_input))
            ):
                await self.async_set_unique_id(_unique_id(key), raise_on_progress=False)
                self._abort_if_unique_id_configured()  # a flow of the same key just won
                data[CONF_WEBHOOK_ID] = webhook.async_generate_id()
                return self.async_create_entry(title=name, data=data)
        schema = probatio.Schema(
            {probatio.Required(CONF_NAME, default=title): selector.TextSelector()}
        ).extend(_gateway_schema(collapsed=_collapsed(user_input)).schema)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
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
            "reauth_confirm", self._get_reauth_entry(), user_input, with_url=False
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the API key or the gateway URL."""
        return await self._async_step_replace_key(
            "reconfigure", self._get_reconfigure_entry(), user_input, with_url=True
        )

    async def _async_step_replace_key(
        self,
        step_id: str,
        entry: CallerIdConfigEntry,
        user_input: dict[str, Any] | None,
        *,
        with_url: bool,
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        url = {CONF_BASE_URL: entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL)}
        current = {SECTION_ADVANCED: url}
        url_at = SECTION_ADVANCED if with_url else "base"
        typed = (user_input or {}).get(CONF_API_KEY, "")
        if user_input is not None:
            # An empty key (reconfigure) keeps the entry's.
            key = typed or entry.data[CONF_API_KEY]
            user_input = (user_input if with_url else current) | {CONF_API_KEY: key}
            if _key_taken(self.hass, key, entry):
                errors = {CONF_API_KEY: "already_configured"}
            elif not (
                errors := await _async_check(
                    self.hass, data := _entry_data(user_input), url_at
                )
            ):
                return await self._async_use(entry, data)
        # Another gateway in use is shown rather than hidden.
        collapsed = _collapsed(user_input) and _collapsed(current)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                _gateway_schema(collapsed=collapsed, key_required=False)
                if with_url
                else KEY_SCHEMA,
                {**(user_input or current), CONF_API_KEY: typed},
            ),
            errors=errors,
            description_placeholders={"name": entry.title},
        )

    async def _async_use(
        self, entry: CallerIdConfigEntry, data: dict[str, Any]
    ) -> ConfigFlowResult:
        """Go on with a key that works: same key, or ask which account it is of."""
        kept = {k: v for k, v in entry.data.items() if k != CONF_BASE_URL}
        self._change = (entry, kept | data)
        if data[CONF_API_KEY] == entry.data[CONF_API_KEY]:
            return await self.async_step_same_account()
        return await self.async_step_account()

    async def async_step_account(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Keep the numbers when seven.io lists the entry's hook under the new key too.

        seven.io has no account id: its hook, made with the old key, is the evidence.
        """
        entry, data = self._change
        try:
            if await async_our_hooks(entry, seven_client(self.hass, data)):
                return await self.async_step_same_account()
            self._old_hooks = await async_our_hooks(
                entry, seven_client(self.hass, entry.data)
            )
        except SevenError:
            self._old_hooks = []
        if self._old_hooks:  # only under the old key: another account
            return await self.async_step_other_account()
        return self.async_show_menu(
            step_id="account",
            menu_options=["same_account", "other_account"],
            description_placeholders={"name": entry.title},
        )

    async def async_step_same_account(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Store the new key; the numbers stay validated."""
        entry, data = self._change
        return self.async_update_reload_and_abort(entry, data=data)

    async def async_step_other_account(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Say what changes; then delete the old account's hook with the old key.

        The new unique id tells the entry's file that its numbers were validated elsewhere.
        """
        entry, data = self._change
        errors: dict[str, str] = {}
        if user_input is not None:
            old = seven_client(self.hass, entry.data)
            try:
                for hook in self._old_hooks:
                    await old.delete_hook(hook.hook_id)
            except SevenError:
                errors = {"base": "cannot_connect"}
            else:
                return self.async_update_reload_and_abort(
                    entry, unique_id=_unique_id(data[CONF_API_KEY]), data=data
                )
        return self.async_show_form(
            step_id="other_account",
            errors=errors,
            description_placeholders={"name": entry.title},
        )


def _key_taken(
    hass: HomeAssistant, key: str, entry: CallerIdConfigEntry | None = None
) -> bool:
    """Return whether another entry uses the key, or was set up with it."""
    hashed = _unique_id(key)
    return any(
        hashed in (other.unique_id, _unique_id(other.data[CONF_API_KEY]))
        for other in hass.config_entries.async_entries(DOMAIN, include_ignore=False)
        if other is not entry
    )


async def _async_check(
    hass: HomeAssistant, data: dict[str, Any], url_at: str = SECTION_ADVANCED
) -> dict[str, str]:
    """Return form errors, those of the URL at `url_at`; none if the key authenticates."""
    try:
        base_url = URL(data.get(CONF_BASE_URL, DEFAULT_BASE_URL))
    except ValueError:
        return {url_at: "invalid_url"}
    # https; plain http only to this machine (a simulator), never across a network.
    schemes = ("https", "http") if base_url.host in _THIS_MACHINE else ("https",)
    if not base_url.host or base_url.scheme not in schemes:
        return {url_at: "invalid_url"}
    try:
        await seven_client(hass, data).balance()
    except SevenMissingScopeError:
        pass  # The key authenticates; it only may not read the balance.
    except SevenAuthenticationError:
        return {"base": "invalid_auth"}
    except SevenConnectionError:
        return {"base": "cannot_connect"}
    except SevenApiError as err:
        # seven.io refusing this machine, or an answer that is not seven.io's.
        if err.code == "903":
            return {"base": "forbidden_ip"}
        return {url_at: "not_seven"}
    except Exception:  # noqa: BLE001 - the form must answer whatever happened
        LOGGER.exception("Unexpected error while checking the seven.io key")
        return {"base": "unknown"}
    return {}


def _number(unit: str | None = None) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(step=1, mode=selector.NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


# Each option: its default, unit, range, and the error naming the range. The step checks
# the range: with it, the selectors say "Value 500.0 is too large".
OPTIONS: dict[str, tuple[int, str | None, int, int, str]] = {
    CONF_CODE_LIFETIME: (DEFAULT_CODE_LIFETIME, "min", 1, 120, "code_lifetime_range"),
    CONF_COOLDOWN: (DEFAULT_COOLDOWN, "s", 0, 3600, "cooldown_range"),
    CONF_MAX_CALLS: (DEFAULT_MAX_CALLS, None, 1, 500, "max_calls_range"),
    CONF_MIN_TALK_TIME: (DEFAULT_MIN_TALK_TIME, "s", 1, 600, "min_talk_time_range"),
    CONF_WARN_BELOW: (0, None, 0, 100_000, "warn_below_range"),
}
OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Required(key, default=default): _number(unit)
        for key, (default, unit, *_) in OPTIONS.items()
    }
)


class CallerIdOptionsFlow(OptionsFlow):
    """Code lifetime, cooldown, calls an hour, and how long an answered call lasts."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and store the options."""
        errors: dict[str, str] = {}
        if user_input is not None:
            values = {key: int(value) for key, value in user_input.items()}
            errors = {
                key: error
                for key, (_, _, low, high, error) in OPTIONS.items()
                if not low <= values[key] <= high
            }
            if not errors:
                return self.async_create_entry(data=values)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA, user_input or self.config_entry.options
            ),
            errors=errors,
            description_placeholders={"name": self.config_entry.title},
        )


def _base_url(user_input: dict[str, Any]) -> str:
    """Return the gateway URL typed, or seven.io's when the section was not sent."""
    advanced = user_input.get(SECTION_ADVANCED) or {}
    return str(advanced.get(CONF_BASE_URL) or DEFAULT_BASE_URL).strip().rstrip("/")


def _collapsed(user_input: dict[str, Any] | None) -> bool:
    """Keep the gateway section open once it holds another URL than seven.io's."""
    return user_input is None or _base_url(user_input) == DEFAULT_BASE_URL


def _entry_data(user_input: dict[str, Any]) -> dict[str, Any]:
    data = {CONF_API_KEY: user_input[CONF_API_KEY]}
    if (base_url := _base_url(user_input)) != DEFAULT_BASE_URL:
        data[CONF_BASE_URL] = base_url
    return data


class RecipientFlow(ConfigSubentryFlow):
    """A person to call: a name, a number, and the caller ID the calls come from."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a recipient, if Home Assistant has room for its entities."""
        if async_entity_room(self.hass, self._get_entry()) < len(RECIPIENT_ENTITIES):
            limit = entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY
            placeholders = {"limit": f"{limit:,}"}
            return self.async_abort(
                reason="no_room", description_placeholders=placeholders
            )
        return await self._async_step("user", user_input, None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a recipient."""
        recipient = self._get_reconfigure_subentry()
        return await self._async_step("reconfigure", user_input, recipient)

    async def _async_step(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        recipient: ConfigSubentry | None,
    ) -> SubentryFlowResult:
        entry: CallerIdConfigEntry = self._get_entry()
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        callers = [
            selector.SelectOptionDict(value=number, label=record.formatted)
            for number, record in sorted(entry.runtime_data.numbers.items())
            if record.can_call
        ]
        if not callers:
            return self.async_abort(reason="no_caller_id")
        errors: dict[str, str] = {}
        if user_input is not None:
            number = to_e164(user_input[CONF_NUMBER], self.hass.config.country)
            name = user_input[CONF_NAME].strip()
            if not (errors := _recipient_errors(entry, recipient, number, name)):
                data = {CONF_NUMBER: number, CONF_CALLER_ID: user_input[CONF_CALLER_ID]}
                if recipient is None:
                    return self.async_create_entry(
                        title=name, data=data, unique_id=number
                    )
                return self.async_update_and_abort(
                    entry, recipient, title=name, data=data, unique_id=number
                )
        if user_input is None and recipient is not None:
            user_input = _recipient_values(recipient, callers)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                _recipient_schema(callers), user_input
            ),
            errors=errors,
            description_placeholders={"country": self.hass.config.country or "-"},
        )


def _recipient_values(
    recipient: ConfigSubentry, callers: list[selector.SelectOptionDict]
) -> dict[str, Any]:
    """Return what the form starts from; a caller ID gone or failed is left out."""
    values = {
        CONF_NAME: recipient.title,
        CONF_NUMBER: format_number(recipient.data[CONF_NUMBER]),
    }
    # Then the first caller ID that can call is what the form shows.
    if any(caller["value"] == recipient.data[CONF_CALLER_ID] for caller in callers):
        values[CONF_CALLER_ID] = recipient.data[CONF_CALLER_ID]
    return values


def _recipient_schema(callers: list[selector.SelectOptionDict]) -> probatio.Schema:
    """Return the recipient form: name, number, and the caller ID (the first chosen)."""
    return probatio.Schema(
        {
            probatio.Required(CONF_NAME): selector.TextSelector(),
            probatio.Required(CONF_NUMBER): _TEL,
            probatio.Required(CONF_CALLER_ID, default=callers[0]["value"]): (
                selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=callers, mode=selector.SelectSelectorMode.DROPDOWN
                    )
                )
            ),
        }
    )


def _recipient_errors(
    entry: CallerIdConfigEntry,
    recipient: ConfigSubentry | None,
    number: str | None,
    name: str,
) -> dict[str, str]:
    """Return what is wrong with a recipient: its number, or its name, if anything."""
    others = [
        other
        for other in entry.get_subentries_of_type(SUBENTRY_RECIPIENT)
        if recipient is None or other.subentry_id != recipient.subentry_id
    ]
    if number is None:
        return {CONF_NUMBER: "invalid_number"}
    if any(other.unique_id == number for other in others):
        return {CONF_NUMBER: "recipient_taken"}
    if not name:
        return {CONF_NAME: "name_required"}
    # As notify.callerid_<name> and the legacy targets tell names apart.
    if any(slugify(other.title) == slugify(name) for other in others):
        return {CONF_NAME: "name_taken"}
    return {}


# How long the Add caller ID dialog waits for an unloaded account to load again.
RELOAD_GRACE = timedelta(seconds=30)

_NUMBER_FORM = probatio.Schema({probatio.Required(CONF_NUMBER): _TEL})


class CallerIdFlow(ConfigSubentryFlow):
    """Validate a caller ID in one dialog: the number, the code on screen, the result.

    The validation is the one `callerid.validate` starts: closing the dialog leaves it
    going; opening it again for the number shows where it stands.
    """

    _number: str
    _code: str | None = None
    _wait: asyncio.Task[None] | None = None
    _unloaded_since: datetime | None = None
    _known = False
    _closed = False

    @callback
    def async_remove(self) -> None:
        """Note that the dialog was closed: nothing waits (the validation goes on)."""
        self._closed = True

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the number; start its validation once seven.io can report to us."""
        return await self._async_ask("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Validate a listed number again (its row's menu on the account's page)."""
        try:
            number = str(self._get_reconfigure_subentry().data[CONF_NUMBER])
        except UnknownSubEntry:  # its row was deleted meanwhile
            return self.async_abort(reason="caller_id_forgotten")
        return await self._async_ask("reconfigure", user_input, number)

    async def _async_ask(
        self, step_id: str, user_input: dict[str, Any] | None, number: str | None = None
    ) -> SubentryFlowResult:
        """Show the step's form until a validation starts; then wait for it."""
        if (entry := self._loaded_entry()) is None:
            return self.async_abort(reason="entry_not_loaded")
        errors: dict[str, str] = {}
        placeholders = {"country": self.hass.config.country or "-", "error": ""}
        if number is not None:
            placeholders["number"] = format_number(number)
        if not has_public_url(self.hass, entry):
            errors["base"] = "callback_unreachable"
        elif user_input is not None:
            number = number or to_e164(
                user_input[CONF_NUMBER], self.hass.config.country
            )
            if number is None:
                errors[CONF_NUMBER] = "invalid_number"
            elif (refused := await self._async_start(entry, number)) is None:
                return await self.async_step_wait()
            else:
                errors["base"] = "validation_refused"
                placeholders["error"] = refused
        return self.async_show_form(
            step_id=step_id,
            data_schema=None  # validating again asks nothing
            if step_id == "reconfigure"
            else self.add_suggested_values_to_schema(_NUMBER_FORM, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_start(self, entry: CallerIdConfigEntry, number: str) -> str | None:
        """Start validating `number`, or join the request under way; return why not."""
        self._number = number
        # Asked for already (another dialog, the action): this one joins it.
        await entry.runtime_data.validations.async_wait_for(number)
        if self._loaded_entry() is None or _pending(entry, number):
            return None  # the wait says where it stands (or that it is not loaded)
        try:
            started = await entry.runtime_data.validations.async_validate(number)
        except HomeAssistantError as err:
            return str(err)
        self._code = started["code"]
        self._known = started["code"] is None  # seven.io knew it validated: no call
        return None

    async def async_step_wait(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show the code while seven.io calls; go on once the validation ended."""
        if self._wait is None or self._wait.done():
            entry = self._loaded_entry()
            if entry is None or not _pending(entry, self._number):
                if self._wait is None:
                    return await self.async_step_finish()  # it ended already
                return self.async_show_progress_done(next_step_id="finish")
            if self._closed:  # while seven.io was asked: nobody is left to wait
                return self.async_show_progress_done(next_step_id="finish")
            # Waiting starts, or goes on after a reload of the account.
            self._wait = self.hass.async_create_background_task(
                self._async_until_changed(entry), f"{DOMAIN} caller ID dialog"
            )
        return self.async_show_progress(
            step_id="wait",
            progress_action="calling" if self._code else "under_way",
            progress_task=self._wait,
            description_placeholders={
                "number": format_number(self._number),
                "code": self._code or "",
            },
        )

    async def async_step_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Say how the validation ended: validated, failed (and why), or expired."""
        if (entry := self._loaded_entry()) is None:
            return self.async_abort(reason="entry_not_loaded")
        number = format_number(self._number)
        if (record := entry.runtime_data.numbers.get(self._number)) is None:
            return self.async_abort(
                reason="caller_id_forgotten",
                description_placeholders={"number": number},
            )
        outcome = "known" if self._known and record.validated else record.status.value
        return self.async_abort(
            reason=f"validation_{outcome}",
            description_placeholders={"number": number, "error": record.error or ""},
        )

    def _loaded_entry(self) -> CallerIdConfigEntry | None:
        """Return the account if it is loaded (it may be reloading, or removed)."""
        entry = self.hass.config_entries.async_get_entry(self.handler[0])
        return entry if entry and entry.state is ConfigEntryState.LOADED else None

    def _waiting(self, entry: CallerIdConfigEntry) -> bool:
        """Return whether to wait on: pending, or unloaded (and there) since moments."""
        if entry.state is ConfigEntryState.LOADED:
            self._unloaded_since = None
            return _pending(entry, self._number)
        now = dt_util.utcnow()
        self._unloaded_since = self._unloaded_since or now
        return (
            self.hass.config_entries.async_get_entry(entry.entry_id) is not None
            and now - self._unloaded_since < RELOAD_GRACE
        )

    async def _async_until_changed(self, entry: CallerIdConfigEntry) -> None:
        """Return once the validation ended, or the account is no longer loaded.

        A reload loads the account again within moments: only if it stays unloaded
        for RELOAD_GRACE does the wait end.
        """
        changed = asyncio.Event()

        @callback
        def _changed(*_: Any) -> None:
            changed.set()

        undo = [
            async_dispatcher_connect(
                self.hass, signal(entry.entry_id, self._number), _changed
            ),
            async_dispatcher_connect(
                self.hass, signal(entry.entry_id, "forgotten"), _changed
            ),
            entry.async_on_state_change(_changed),
            # While unloaded, look again once the grace is over.
            async_track_time_interval(self.hass, _changed, RELOAD_GRACE),
        ]
        try:
            while self._waiting(entry):
                changed.clear()
                await changed.wait()
        finally:
            for unsubscribe in undo:
                unsubscribe()


def _pending(entry: CallerIdConfigEntry, number: str) -> bool:
    """Return whether a validation of `number` is under way (the entry loaded)."""
    if entry.state is not ConfigEntryState.LOADED:
        return False
    record = entry.runtime_data.numbers.get(number)
    return record is not None and record.status is ValidationStatus.PENDING
