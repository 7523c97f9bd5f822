"""Constants for the callerid integration."""

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


class ValidationStatus(StrEnum):
    """Where a number stands with seven.io."""

    PENDING = "pending"
    VALIDATED = "validated"
    FAILED = "failed"
