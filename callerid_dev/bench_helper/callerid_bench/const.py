"""The bench helper's domain and webhook ids."""

from typing import Final

DOMAIN: Final = "callerid_bench"
NOOP_WEBHOOK_ID: Final = "callerid-bench-noop"
FLIP_WEBHOOK_ID: Final = "callerid-bench-flip"
SAVE_WEBHOOK_ID: Final = "callerid-bench-save"
FLIP_SAVE_WEBHOOK_ID: Final = "callerid-bench-flip-save"
