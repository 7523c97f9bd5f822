"""Constants for the callerid integration."""

from datetime import timedelta
from enum import StrEnum
import logging
from typing import Final

DOMAIN: Final = "callerid"
LOGGER: Final = logging.getLogger(__package__)

CONF_BASE_URL: Final = "base_url"
CONF_CLOUDHOOK_URL: Final = "cloudhook_url"

SERVICE_VALIDATE: Final = "validate"
ATTR_NUMBER: Final = "number"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"

EVENT_VALIDATION_COMPLETED: Final = f"{DOMAIN}_validation_completed"

# Query parameter that carries the per-validation token on the callback URL.
CALLBACK_TOKEN_PARAM: Final = "token"  # noqa: S105 - a parameter name
# Longest callback query string we look at; seven.io's parameters fit easily.
MAX_CALLBACK_QUERY_LENGTH: Final = 2048

STORAGE_VERSION: Final = 1
# The journal of changes is folded into the storage file once it has more lines than
# this and than there are numbers.
JOURNAL_FOLD_MIN_LINES: Final = 1000

CONF_CODE_LIFETIME: Final = "code_lifetime"
CONF_COOLDOWN: Final = "cooldown"
DEFAULT_CODE_LIFETIME: Final = 15  # minutes a code stays good
DEFAULT_COOLDOWN: Final = 60  # seconds before the same number may be called again

ISSUE_CALLBACK_UNREACHABLE: Final = "callback_unreachable"
# Refused callbacks are logged at debug level; a warning sums them up at most this often.
REFUSAL_WARNING_INTERVAL: Final = timedelta(hours=1)


class ValidationStatus(StrEnum):
    """Where a number stands with seven.io."""

    PENDING = "pending"
    VALIDATED = "validated"
    FAILED = "failed"
    EXPIRED = "expired"
