"""Constants for the callerid integration."""

from enum import StrEnum
import logging
from typing import Final

DOMAIN: Final = "callerid"
LOGGER: Final = logging.getLogger(__package__)

CONF_BASE_URL: Final = "base_url"
CONF_CLOUDHOOK_URL: Final = "cloudhook_url"
# The webhook that seven.io reports ended calls to; its id is the secret in its URL.
CONF_CALL_WEBHOOK_ID: Final = "call_webhook_id"
CONF_CALL_CLOUDHOOK_URL: Final = "call_cloudhook_url"

# A person to call, added under an account: a config subentry with a notify entity.
SUBENTRY_RECIPIENT: Final = "recipient"
SUBENTRY_CALLER_ID: Final = "caller_id"
CONF_NUMBER: Final = "number"
CONF_CALLER_ID: Final = "caller_id"

SERVICE_VALIDATE: Final = "validate"
SERVICE_CALL: Final = "call"
SERVICE_HANG_UP: Final = "hang_up"

EVENT_VALIDATION_COMPLETED: Final = f"{DOMAIN}_validation_completed"
EVENT_CALL_PLACED: Final = f"{DOMAIN}_call_placed"
EVENT_CALL_ENDED: Final = f"{DOMAIN}_call_ended"

# Query parameter that carries the per-validation token on the callback URL.
CALLBACK_TOKEN_PARAM: Final = "token"  # noqa: S105 - a parameter name

CONF_CODE_LIFETIME: Final = "code_lifetime"
CONF_COOLDOWN: Final = "cooldown"
DEFAULT_CODE_LIFETIME: Final = 15  # minutes a code stays good
DEFAULT_COOLDOWN: Final = 60  # seconds before the same number may be called again
CONF_MAX_CALLS: Final = "max_calls_per_hour"
DEFAULT_MAX_CALLS: Final = 20  # calls an account may place in an hour
CONF_WARN_BELOW: Final = "warn_below"  # 0: no warning
CONF_MIN_TALK_TIME: Final = "min_talk_time"
DEFAULT_MIN_TALK_TIME: Final = 1  # seconds a completed call lasts to count as answered
# A number's entities enabled by default: platform, key.
ENABLED_ENTITIES: Final = (
    ("binary_sensor", "validated"),
    ("sensor", "status"),
    ("sensor", "last_call"),
    ("button", "validate_again"),
    ("button", "test_call"),
    ("select", "test_call_to"),
)
# What a number's Test call button says.
TEST_CALL_MESSAGE: Final = "This is a test call from Home Assistant."

# The account's (sensors: key) and each recipient's (platform: unique id suffix).
ACCOUNT_ENTITIES: Final = ("balance", "spent_today")
RECIPIENT_ENTITIES: Final = (("notify", ""), ("event", "_call"))

ISSUE_CALLBACK_UNREACHABLE: Final = "callback_unreachable"
ISSUE_HOOKS_RIGHT: Final = "hooks_right_missing"
ISSUE_HOOK_SYNC_FAILED: Final = "hook_sync_failed"
ISSUE_TOO_MANY_NUMBERS: Final = "too_many_numbers"
ISSUE_BALANCE_LOW: Final = "balance_low"
ISSUE_RECIPIENT_CALLER_ID: Final = "recipient_caller_id_gone"


class ValidationStatus(StrEnum):
    """Where a number stands with seven.io."""

    PENDING = "pending"
    VALIDATED = "validated"
    FAILED = "failed"
    EXPIRED = "expired"
