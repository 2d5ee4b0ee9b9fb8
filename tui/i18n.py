"""The console's language: `t(key)` looks up the shared catalogue (`lang/`).

The language comes from `--lang`/PANTAU_LANG for one run, else the signed-in
person's language on the server (`GET /api/me`, changed with `PATCH /api/me`).
A missing key shows the key itself, which the tests notice.
"""

from __future__ import annotations

from typing import Any

import lang
from lang.events import describe

_language = "en"


def set_language(value: str | None) -> str:
    """Switch the language ("en" or "id"); anything else keeps English."""
    global _language
    _language = lang.normalise(value) or "en"
    return _language


def language() -> str:
    return _language


def t(key: str, **values: object) -> str:
    """The message for `key` in the current language, formatted with `values`
    (a counted message takes its count from `n`)."""
    return lang.text(_language, key, **values)


def event_sentence(payload: dict[str, Any], kind: str, *, subject: str = "",
                   camera: str = "") -> str:
    """An event (a timeline entry or a live frame's payload) as a sentence."""
    return describe(_language, kind, str(payload.get("actor") or ""), payload,
                    subject=subject, camera=camera)


def key_label(description: str) -> str:
    """A key's description (Binding(..., description)) in the current language."""
    key = "key." + description
    return lang.text(_language, key) if key in lang.keys() else description
