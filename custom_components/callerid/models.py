"""What the integration knows about numbers and calls, and how it changes; no I/O."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
import hashlib
from typing import Final

from .const import ValidationStatus

# Compared against when there is no token to compare against; matches no token.
NO_TOKEN_HASH: Final = "-" * 64


def hash_token(token: str) -> str:
    """Return the stored form of a callback token: the file cannot forge a callback."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CallbackResult:
    """seven.io's verdict as delivered to the callback."""

    success: bool
    voice: bool | None
    caller_id: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class NumberRecord:
    """One number's validation; stored as it is (field names are the file's keys)."""

    number: str
    # In international notation, for people to read (device names, notifications).
    formatted: str
    status: ValidationStatus
    requested_at: datetime
    completed_at: datetime | None = None
    voice: bool | None = None
    caller_id: int | None = None
    error: str | None = None
    # Only a hash of the pending callback token is kept.
    token_hash: str | None = None

    @property
    def validated(self) -> bool:
        """Return whether seven.io accepts the number as caller ID."""
        return self.status is ValidationStatus.VALIDATED

    @property
    def can_call(self) -> bool:
        """Return whether calls may come from the number: validated, for voice too."""
        return self.validated and self.voice is not False

    @property
    def expected_token_hash(self) -> str:
        """Return the hash a callback's token must match; one none matches if not pending."""
        return self.token_hash or NO_TOKEN_HASH

    def pending(self, token_hash: str, now: datetime) -> NumberRecord:
        """Return a new validation of the number; when the last one ended stays known."""
        return replace(
            new_record(self.number, self.formatted, now),
            completed_at=self.completed_at,
            token_hash=token_hash,
        )

    def completed(self, result: CallbackResult, now: datetime) -> NumberRecord:
        """Return the number as seven.io's callback left it."""
        return replace(
            self,
            status=ValidationStatus.VALIDATED
            if result.success
            else ValidationStatus.FAILED,
            completed_at=now,
            voice=result.voice,
            caller_id=result.caller_id,
            error=result.error,
            token_hash=None,
        )

    def known_validated(
        self, caller_id: int | None, voice: bool, now: datetime
    ) -> NumberRecord:
        """Return the number as seven.io knew it already: validated, no call placed."""
        return replace(
            self.completed(CallbackResult(True, voice, caller_id, None), now),
            requested_at=now,
        )

    def disowned(self, now: datetime) -> NumberRecord:
        """Return the number as not validated: the entry moved to another account."""
        if self.status not in (ValidationStatus.VALIDATED, ValidationStatus.PENDING):
            return self
        return self.completed(
            CallbackResult(False, False, None, "another account"), now
        )

    def expires_at(self, lifetime: timedelta) -> datetime:
        """Return when the code of a pending validation stops being good."""
        return self.requested_at + lifetime

    def expired(self, lifetime: timedelta) -> NumberRecord:
        """Return the pending validation as ended without a callback."""
        return replace(
            self,
            status=ValidationStatus.EXPIRED,
            completed_at=self.expires_at(lifetime),
            token_hash=None,
        )


def new_record(number: str, formatted: str, now: datetime) -> NumberRecord:
    """Return a number nothing is known of yet (made pending at once)."""
    return NumberRecord(number, formatted, ValidationStatus.PENDING, requested_at=now)


class CallOutcome(StrEnum):
    """How a call went, as a person reads it."""

    CALLING = "calling"
    ANSWERED = "answered"
    NOT_ANSWERED = "not_answered"
    FAILED = "failed"


# seven.io's voice_status updates before a call ends (its voice docs, Twilio's words).
PROGRESS_STATUSES: Final = frozenset({"queued", "initiated", "ringing", "in-progress"})
# seven.io's `voice_status` words for a call nobody took; it does not list them all.
_NOT_TAKEN: Final = frozenset(
    {"busy", "no-answer", "noanswer", "no_answer", "canceled", "cancelled", "rejected"}
)


def outcome_of(status: str, duration: int, min_talk_time: int) -> CallOutcome | None:
    """Return what seven.io's status word and duration mean; None while it goes on.

    A completed call shorter than `min_talk_time` seconds (a voicemail greeting) was
    not answered by a person.
    """
    if status in PROGRESS_STATUSES:
        return None
    if status == "completed":
        talked = duration >= max(min_talk_time, 1)
        return CallOutcome.ANSWERED if talked else CallOutcome.NOT_ANSWERED
    if status in _NOT_TAKEN:
        return CallOutcome.NOT_ANSWERED
    return CallOutcome.FAILED


def combined(outcomes: list[CallOutcome]) -> CallOutcome:
    """Return how calls to several people went together: anyone answered is answered."""
    for outcome in (
        CallOutcome.ANSWERED,
        CallOutcome.CALLING,
        CallOutcome.NOT_ANSWERED,
    ):
        if outcome in outcomes:
            return outcome
    return CallOutcome.FAILED


@dataclass(frozen=True, slots=True)
class PlacedCall:
    """One call placed through seven.io, and how it went (stored as it is)."""

    call_id: str
    # Our own id of the action's calls, sent to seven.io, which returns it with the
    # status.
    foreign_id: str
    sender: str
    recipient: str
    placed_at: datetime
    outcome: CallOutcome = CallOutcome.CALLING
