"""Event names are never shown raw: every kind the code appends reads as a sentence in
both languages, and the timelines and the wall's ticker use them."""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

import pytest

import lang
from lang.events import describe, sentence_key
from server.alarms.lifecycle import OUTCOMES
from server.tickets.intake import CALL_CLOSE_REASONS
from server.tickets.lifecycle import STATUS_ACTIONS
from tests.conftest import PROJECT_ROOT

SUBJECTS = ("ticket", "alarm", "alarm_contact", "camera", "monitor", "shift", "person",
            "device")
KIND = re.compile(rf"^({'|'.join(SUBJECTS)})\.[a-z_]+$")
# Kinds the code builds from a template, and the values the template takes
# (server/alarms/lifecycle.py, server/alarms/contacts.py).
TEMPLATES = {"alarm.{}": OUTCOMES,
             "alarm_contact.{}": ("sent", "retrying", "failed", "not_delivered")}


STRING = re.compile(r"^([rbfuRBFU]*)(\"|')(.*)\2$", re.S)


def kinds_in_code() -> set[str]:
    """Every event kind written as a string literal (or a known f-string template) in
    the code that appends events: server/, db/, streams/.

    Read with tokenize rather than ast: ast.parse under load in CPython 3.11 can
    fail with "AST constructor recursion depth mismatch"."""
    found: set[str] = set()
    for folder in ("server", "db", "streams"):
        for path in Path(PROJECT_ROOT, folder).rglob("*.py"):
            with path.open("rb") as fh:
                tokens = list(tokenize.tokenize(fh.readline))
            for tok in tokens:
                if tok.type != tokenize.STRING:
                    continue
                m = STRING.match(tok.string)
                if m is None:
                    continue
                prefix, body = m.group(1).lower(), m.group(3)
                if "f" in prefix:
                    template = re.sub(r"\{[^}]*\}", "{}", body)
                    if re.match(rf"^({'|'.join(SUBJECTS)})\.\{{\}}$", template):
                        assert template in TEMPLATES, f"{path}: new kind template {template}"
                        found |= {template.format(v) for v in TEMPLATES[template]}
                elif KIND.match(body):
                    found.add(body)
    return found


def test_the_scan_finds_the_kinds_we_know() -> None:
    kinds = kinds_in_code()
    assert {"ticket.created", "alarm.false_alarm", "alarm_contact.not_delivered",
            "shift.handover_acknowledged", "person.language_changed"} <= kinds
    assert len(kinds) > 40


def test_every_event_kind_has_a_sentence_in_both_languages() -> None:
    missing = sorted(k for k in kinds_in_code() if f"event.{k}" not in lang.keys())
    assert missing == []
    for kind in kinds_in_code():
        for language in lang.LANGUAGES:
            said = describe(language, kind, "system:test", {})
            assert said and kind not in said and "event." not in said, (language, kind)


def test_every_status_action_has_its_own_sentence() -> None:
    for action in (*STATUS_ACTIONS, "close_call"):
        if action == "refuse":
            continue  # its own kind, ticket.refused
        assert sentence_key("ticket.status_changed", {"action": action}) == \
            f"event.ticket.status_changed.{action}"
    for reason in CALL_CLOSE_REASONS:
        assert f"close_reason.{reason}" in lang.keys()


@pytest.mark.parametrize(("language", "kind", "actor", "payload", "expected"), [
    ("en", "alarm_contact.sent", "system:log", {"contact": "Siti", "channel": "whatsapp"},
     "Message to Siti (WhatsApp) sent"),
    ("id", "alarm_contact.sent", "system:log", {"contact": "Siti", "channel": "whatsapp"},
     "Pesan ke Siti (WhatsApp) terkirim"),
    ("en", "ticket.routed", "person:budi",
     {"changes": {"department": [None, {"code": "dishub", "name": "Dishub"}]}},
     "Routed to DISHUB by budi"),
    ("id", "ticket.routed", "person:budi", {"department": {"code": "dishub"}},
     "Diteruskan ke DISHUB oleh budi"),
    ("en", "ticket.status_changed", "person:siti", {"action": "close_call",
                                                     "reason": "prank"},
     "Call closed: prank by siti"),
    ("id", "shift.checked_in", "person:budi", {"person": "budi", "shift": "pagi 2026-11-28"},
     "budi hadir (pagi 2026-11-28)"),
    ("en", "alarm.escalated", "system:escalation", {"to": "police_desk", "level": 2},
     "Not acknowledged in time: escalated to the police desk"),
    ("en", "device.online", "device:demo-dago", {"device": "demo-dago"},
     "Panic button demo-dago back online"),
    ("en", "device.disabled", "person:admin", {"device": "demo-dago"},
     "Panic button demo-dago disabled by admin"),
])
def test_sentences(language: str, kind: str, actor: str, payload: dict[str, object],
                   expected: str) -> None:
    assert describe(language, kind, actor, payload) == expected


def test_an_unknown_kind_still_says_something() -> None:
    assert describe("en", "future.kind", "system:x", {}) == "future.kind"
