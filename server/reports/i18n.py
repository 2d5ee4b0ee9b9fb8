"""Report wording in Indonesian (the mayor's office) and English, from the shared
catalogue (`lang/`, keys `report.*`, `role.*`)."""

from __future__ import annotations

import lang

LANGS = lang.LANGUAGES
SUMMARY_LINES = ("head", "tickets", "no_tickets", "sla", "times", "calls", "alarms", "busiest",
                 "staffing")
WEEKDAYS = {code: tuple(lang.text(code, f"weekday.short.{i}") for i in range(1, 8))
            for code in LANGS}


def t(key: str, language: str, **values: object) -> str:
    """The text for `key` (a column, section or role) in `language`; an unknown key
    is shown as itself."""
    for full in (f"report.{key}", f"role.{key}"):
        if full in lang.keys():
            return lang.text(language, full, **values)
    return key


def summary_lines(language: str) -> dict[str, str]:
    """Sentence templates for the text summary (str.format fields)."""
    return {k: lang.text(language, f"report.summary.{k}") for k in SUMMARY_LINES}
