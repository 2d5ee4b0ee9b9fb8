"""Intake: a ticket from any channel (Open311, the web form, a 112 call, a panic
alarm, an operator watching CCTV, a walk-in).

Every channel builds a `NewTicket` and calls `create_ticket`, so the rules are
in one place: every field is checked (all problems reported at once, by field
name), the district comes from the coordinates when not given, the routing rule
suggests a department, due times are set, and the ticket row, its reference and
the `ticket.created` event are written in one transaction.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from db.models import CHANNELS
from db.orm import conn
from server.auth import Principal
from server.errors import bad_request, conflict
from server.tickets import duplicates, routing, store
from server.tickets.notes import insert_note
from server.tickets.references import next_reference
from server.tickets.sla import due_times

MAX_DESCRIPTION = 5000
MAX_ADDRESS = 300
MAX_NAME = 120
MAX_ATTRIBUTES = 20
CALL_CLOSE_REASONS = ("prank", "information", "wrong_number", "duplicate")
TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,24}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


@dataclass
class NewTicket:
    """What a channel knows about a new ticket; `check()` says what is wrong with it."""

    channel: str
    description: str
    category: str | None = None
    priority: int | None = None
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    district: str | None = None
    reporter_name: str = ""
    reporter_phone: str = ""
    reporter_email: str = ""
    anonymous: bool = False
    tags: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)

    def check(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        for name in ("description", "address", "reporter_name", "reporter_phone",
                     "reporter_email", "category", "district"):
            value = getattr(self, name)
            if isinstance(value, str) and "\x00" in value:
                # Postgres text cannot hold NUL; say so instead of failing on insert.
                errors[name] = "must not contain NUL characters"
                setattr(self, name, value.replace("\x00", ""))
        if self.channel not in CHANNELS:
            errors["channel"] = f"must be one of: {', '.join(CHANNELS)}"
        self.description = self.description.strip()
        if not self.description:
            errors["description"] = "must not be empty"
        elif len(self.description) > MAX_DESCRIPTION:
            errors["description"] = f"at most {MAX_DESCRIPTION} characters"
        if self.priority is not None and not 1 <= self.priority <= 4:
            errors["priority"] = "must be 1, 2, 3 or 4"
        self.address = self.address.strip()
        if len(self.address) > MAX_ADDRESS:
            errors["address"] = f"at most {MAX_ADDRESS} characters"
        if (self.lat is None) != (self.lon is None):
            errors["lat" if self.lat is None else "lon"] = "give both lat and lon, or neither"
        if self.lat is not None and not -90 <= self.lat <= 90:
            errors["lat"] = "must be between -90 and 90"
        if self.lon is not None and not -180 <= self.lon <= 180:
            errors["lon"] = "must be between -180 and 180"
        if self.lat is None and not self.address and self.district is None:
            errors["location"] = "give coordinates, an address or a district"
        self.reporter_name = self.reporter_name.strip()
        if len(self.reporter_name) > MAX_NAME:
            errors["reporter_name"] = f"at most {MAX_NAME} characters"
        self.reporter_phone = self.reporter_phone.strip()
        if self.reporter_phone and not PHONE.match(self.reporter_phone):
            errors["reporter_phone"] = "not a phone number"
        self.reporter_email = self.reporter_email.strip()
        if self.reporter_email and (len(self.reporter_email) > 200
                                    or not EMAIL.match(self.reporter_email)):
            errors["reporter_email"] = "not an email address"
        if len(self.tags) > 10 or not all(TAG.match(t) for t in self.tags):
            errors["tags"] = "at most 10 tags of a-z, 0-9, '-', '_' (40 characters each)"
        if len(self.attributes) > MAX_ATTRIBUTES or any(
                len(k) > 60 or len(str(v)) > 500 for k, v in self.attributes.items()):
            errors["attributes"] = f"at most {MAX_ATTRIBUTES} short attributes"
        return errors


async def create_ticket(new: NewTicket, principal: Principal | None,
                        actor: str | None = None) -> dict[str, Any]:
    """Validate and store a new ticket; returns its JSON plus `duplicate_candidates`."""
    errors = new.check()
    now = datetime.now(UTC)
    ctx = await routing.intake_context(conn(), new.category, new.district, new.lat, new.lon)
    if new.category is not None and ctx.category_id is None:
        errors["category"] = f"unknown category {new.category!r}"
    if new.district is not None and ctx.district_by_code is None:
        errors["district"] = f"unknown district {new.district!r}"
    if errors:
        raise bad_request("invalid fields: " + ", ".join(sorted(errors)), errors)
    # Both outside the ticket's transaction, so it holds its locks only for the
    # writes: the reference counter is bumped in its own statement (like a
    # sequence: concurrent intakes never queue for a number), and duplicate
    # candidates are a suggestion that needs no snapshot of the new row.
    reference, candidates = await asyncio.gather(
        next_reference(conn(), now),
        duplicates.near(conn(), ctx.category_id, new.lat, new.lon, now))
    priority = new.priority or ctx.default_priority or 3
    cat_id = ctx.category_id
    dis_id = ctx.district_by_code or ctx.district_by_position
    suggested = ctx.suggested_department_id
    ack_due, resolve_due = due_times(priority, now, ctx.policy)
    refs = [c["reference"] for c in candidates]
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(
            """INSERT INTO tickets (reference, channel, category_id, priority, address,
                 district_id, lat, lon, reporter_name, reporter_phone, reporter_email,
                 anonymous, description, tags, attributes, suggested_department_id,
                 ack_due_at, resolve_due_at, sla_started_at, created_by_id, created_at,
                 updated_at)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15::jsonb,$16,$17,$18,
                 $19,$20,$19,$19) RETURNING id""",
            [reference, new.channel, cat_id, priority, new.address, dis_id, new.lat, new.lon,
             "" if new.anonymous else new.reporter_name,
             "" if new.anonymous else new.reporter_phone,
             "" if new.anonymous else new.reporter_email, new.anonymous, new.description,
             new.tags, _json(new.attributes), suggested, ack_due, resolve_due, now,
             principal.id if principal is not None and principal.kind == "person" else None])
        ticket_id = int(rows[0]["id"])
        ticket = await store.commit(tx, None, ticket_id, "ticket.created",
                                    actor or (principal.actor if principal else "public"),
                                    action="create", duplicate_candidates=refs)
    return {**ticket, "duplicate_candidates": refs}


def _json(value: dict[str, str]) -> str:
    return json.dumps(value, ensure_ascii=False)


async def close_call(ticket_id: int, principal: Principal, reason: str,
                     note: str = "") -> dict[str, Any]:
    """One-step close of a 112 call that is no emergency (most of them are not)."""
    if reason not in CALL_CLOSE_REASONS:
        raise bad_request(f"reason must be one of: {', '.join(CALL_CLOSE_REASONS)}",
                          {"reason": f"must be one of: {', '.join(CALL_CLOSE_REASONS)}"})
    async with in_transaction() as tx:
        row = await store.locked(tx, ticket_id, principal)
        if row["channel"] != "call112":
            raise conflict("only a 112 call can be closed this way", "not_a_call")
        store.require_status(row, ("new", "triaged"), "close")
        now = datetime.now(UTC)
        await store.update(tx, ticket_id, {"status": "closed", "close_reason": reason,
                                           "closed_at": now})
        extra: dict[str, Any] = {"action": "close_call", "reason": reason}
        if note:
            extra["note"] = await insert_note(tx, ticket_id, principal.id, note)
        return await store.commit(tx, row, ticket_id, "ticket.status_changed",
                                  principal.actor, **extra)
