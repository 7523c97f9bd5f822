"""Phone number parsing and display, by the phonenumbers library."""

import functools

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata


def load_metadata() -> None:
    """Read every region's metadata (about 1 MB): phonenumbers would read each from disk on first use."""
    PhoneMetadata.load_all()


# Automations tend to validate the same few numbers again and again.
@functools.lru_cache(maxsize=128)
def to_e164(text: str, region: str | None) -> str | None:
    """Return `text` as E.164 (national formats of country `region`); None if invalid."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def format_number(number: str) -> str:
    """Return an E.164 number in international notation for people to read."""
    return phonenumbers.format_number(
        phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )


def mask_number(number: str) -> str:
    """Return an E.164 number with its middle hidden, for logs."""
    if len(number) <= 6:
        return "*" * len(number)
    return f"{number[:4]}{'*' * (len(number) - 6)}{number[-2:]}"
