"""Event log entries as sentences: what every timeline and ticker shows instead of the
raw kind (`alarm_contact.sent system:log` reads "Message to Siti (WhatsApp) sent").

One function, `describe`, for the console's ticket and alarm timelines and wall-term's
ticker. It reads whichever shape of the event the caller has: a live frame's payload,
an entry of `GET /api/tickets/{id}/history` or of an alarm's `timeline`. Every kind
the code appends has a sentence in both languages (tests/test_lang_events.py).
"""

from __future__ import annotations

from typing import Any

from lang.catalogue import keys, text

PREFIX = "event."
# Actors that are the machinery, not someone to name in a sentence.
SILENT_ACTORS = ("system", "seed", "test", "cli")


def actor_name(language: str, actor: str) -> str:
    """`person:budi` -> "budi", `device:demo-dago` -> "device demo-dago", system -> ""."""
    kind, _, name = (actor or "").partition(":")
    if not name or kind in SILENT_ACTORS:
        return ""
    key = f"actor.{kind}"
    return text(language, key, name=name) if key in keys() else name


def _code(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("code") or value.get("name") or "")
    return "" if value is None else str(value)


def _dig(payload: dict[str, Any], *path: str) -> Any:
    value: Any = payload
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def _first(*values: Any) -> str:
    for value in values:
        if value not in (None, "", {}, []):
            return _code(value)
    return "?"


def _change(payload: dict[str, Any], field: str, index: int) -> Any:
    pair = _dig(payload, "changes", field)
    return pair[index] if isinstance(pair, list | tuple) and len(pair) == 2 else None


def _word(language: str, prefix: str, value: str) -> str:
    key = f"{prefix}.{value}"
    return text(language, key) if key in keys() else value


def _values(language: str, payload: dict[str, Any], camera: str) -> dict[str, str]:
    """Everything a sentence may name, from whichever shape of the event this is."""
    found_ticket, found_alarm = payload.get("ticket"), payload.get("alarm")
    ticket: dict[str, Any] = found_ticket if isinstance(found_ticket, dict) else {}
    alarm: dict[str, Any] = found_alarm if isinstance(found_alarm, dict) else {}
    channel = str(payload.get("channel") or ticket.get("channel") or "")
    status = str(payload.get("status") or ticket.get("status") or "")
    language_code = str(payload.get("language") or "")
    return {
        "ref": _first(payload.get("reference"), ticket.get("reference"),
                      payload.get("ticket_reference"), alarm.get("ticket_reference")),
        "dept": _first(_change(payload, "department", 1), payload.get("department"),
                       ticket.get("department")).upper(),
        "old_dept": _first(_change(payload, "department", 0)).upper(),
        "priority": _first(_change(payload, "priority", 1), payload.get("priority"),
                           ticket.get("priority")),
        "status": _word(language, "status", status) if status else "?",
        "into": _first(payload.get("into"), _change(payload, "merged_into", 1)),
        "reason": _word(language, "close_reason", str(payload.get("reason") or "?")),
        "channel": _word(language, "contact_channel" if payload.get("contact") else "channel",
                         channel) if channel else "?",
        "contact": _first(payload.get("contact")),
        "unit": _first(payload.get("unit"), alarm.get("dispatch_unit")),
        "to": _word(language, "escalation", str(payload.get("to") or "?")),
        "where": _first(alarm.get("address"), alarm.get("device"), payload.get("address")),
        "camera": camera or _first(payload.get("camera"), payload.get("name")),
        "monitor": _first(payload.get("monitor")),
        "shift": _first(payload.get("shift")),
        "person": _first(payload.get("person"), payload.get("username")),
        "out": _first(payload.get("out")),
        "in": _first(payload.get("in")),
        "chosen": _word(language, "language.name", language_code) if language_code else "?",
        "device": _first(payload.get("device"), alarm.get("device")),
        "owner": _first(payload.get("owner_name"), alarm.get("owner_name")),
    }


def sentence_key(kind: str, payload: dict[str, Any] | None = None) -> str:
    """The catalogue key of the sentence for this event (status changes by action)."""
    action = (payload or {}).get("action")
    if kind == "ticket.status_changed" and action:
        specific = f"{PREFIX}{kind}.{action}"
        if specific in keys():
            return specific
    return f"{PREFIX}{kind}"


def describe(language: str, kind: str, actor: str = "", payload: dict[str, Any] | None = None,
             *, subject: str = "", camera: str = "") -> str:
    """The event as one sentence in `language`, naming who did it when that is a
    person or a device. `subject` (a ticket's reference, "Alarm 12") goes first, for
    a list that mixes subjects such as the wall's ticker."""
    payload = payload if isinstance(payload, dict) else {}
    key = sentence_key(kind, payload)
    if key in keys():
        values = _values(language, payload, camera)
        if kind == "ticket.routed_away":
            values["dept"] = values["old_dept"]
        sentence = text(language, key, **values)
    else:
        sentence = text(language, "event.unknown", kind=kind)
    who = actor_name(language, actor)
    named = actor.partition(":")[2]
    if who and named not in (payload.get("person"), payload.get("username"),
                             payload.get("device")):
        # "budi checked in", not "budi checked in by budi"
        sentence = text(language, "event.by", sentence=sentence, actor=who)
    if subject:
        sentence = text(language, "event.subject", subject=subject, sentence=sentence)
    return sentence
