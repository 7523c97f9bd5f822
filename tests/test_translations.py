"""The German translation says everything the English one does."""

from __future__ import annotations

import json
from pathlib import Path
import re
import string
from typing import Any

TRANSLATIONS = (
    Path(__file__).parent.parent / "custom_components" / "callerid" / "translations"
)


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    leaves: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            leaves |= _leaves(value, f"{prefix}{key}.")
        else:
            leaves[f"{prefix}{key}"] = value
    return leaves


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_german_matches_english() -> None:
    """Same keys, same placeholders."""
    english = _leaves(json.loads((TRANSLATIONS / "en.json").read_text()))
    german = _leaves(json.loads((TRANSLATIONS / "de.json").read_text()))
    assert set(german) == set(english)
    for key, text in english.items():
        assert _placeholders(german[key]) == _placeholders(text), key


def test_every_raised_key_is_translated() -> None:
    """Each translation_key the code raises has an exception message."""
    english = json.loads((TRANSLATIONS / "en.json").read_text())
    source = "\n".join(path.read_text() for path in TRANSLATIONS.parent.glob("*.py"))
    keys = set(re.findall(r'translation_key="([a-z_]+)"', source))
    keys |= set(re.findall(r'"[0-9]{3}": "([a-z_]+)"', source))
    assert keys
    assert keys <= set(english["exceptions"])


def test_messages_are_plain_text() -> None:
    """Error messages are shown as plain text: no Markdown in them.

    Notification texts (kept beside them) are Markdown on purpose.
    """
    for language in ("en", "de"):
        strings = json.loads((TRANSLATIONS / f"{language}.json").read_text())
        texts = [
            item["message"]
            for key, item in strings["exceptions"].items()
            if not key.startswith("notification_")
        ]
        texts += _leaves(strings["config"]).values()
        for text in texts:
            assert "`" not in text, text
            assert "**" not in text, text
