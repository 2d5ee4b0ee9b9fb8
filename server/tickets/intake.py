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

from db import events
from db.models import CHANNELS
from db.orm import conn
from server.auth import Principal
from server.errors import ApiError, bad_request, conflict
from server.tickets import duplicates, routing, store
from server.tickets.notes import insert_note
from server.tickets.records import (
    VIEW_COLUMNS,
    VIEW_JOINS,
    diff,
    event_payload,
    ticket_json,
    view_row,
)
from server.tickets.references import next_references
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
    # Public channels only: the hash of the reporter's status key (server/tickets/public.py).
    status_key_hash: str | None = None
    # False only for a 112 call closed at once as no emergency (prank, wrong number…).
    place_required: bool = True
    # False for Open311, whose GeoReport v2 makes the description optional.
    description_required: bool = True

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
        if not self.description and self.description_required:
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
        if self.place_required and self.lat is None and not self.address \
                and self.district is None:
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


@dataclass(frozen=True)
class Intake:
    """One ticket to create, and who files it (`actor` overrides the principal's name)."""

    new: NewTicket
    principal: Principal | None = None
    actor: str | None = None


# $1 is the moment of intake; $2.. are one array per column, a row per ticket.
_INSERT_MANY = f"""
WITH t AS (
INSERT INTO tickets (reference, channel, category_id, priority, address, district_id, lat,
                     lon, reporter_name, reporter_phone, reporter_email, anonymous,
                     description, tags, attributes, ack_due_at, resolve_due_at,
                     created_by_id, status_key_hash, created_at, updated_at)
SELECT i.reference, i.channel, i.category_id, i.priority, i.address, i.district_id, i.lat,
       i.lon, i.reporter_name, i.reporter_phone, i.reporter_email, i.anonymous,
       i.description, ARRAY(SELECT jsonb_array_elements_text(i.tags)), i.attributes,
       i.ack_due, i.resolve_due, i.created_by, i.status_key_hash, $1, $1
FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::int[],
            $8::float8[], $9::float8[], $10::text[], $11::text[], $12::text[], $13::bool[],
            $14::text[], $15::jsonb[], $16::jsonb[], $17::timestamptz[], $18::timestamptz[],
            $19::int[], $20::text[])
     AS i(reference, channel, category_id, priority, address, district_id, lat, lon,
          reporter_name, reporter_phone, reporter_email, anonymous, description, tags,
          attributes, ack_due, resolve_due, created_by, status_key_hash)
RETURNING *)
SELECT {VIEW_COLUMNS} FROM t {VIEW_JOINS}
"""


async def create_tickets(intakes: list[Intake]) -> list[dict[str, Any] | ApiError]:
    """Validate and store new tickets in one transaction: for each, its JSON plus
    `duplicate_candidates`, or the 400 that says what is wrong with it (nothing
    of a refused ticket is stored; the others are).

    The lookups (category, district, routing, SLA policy; duplicate candidates)
    and the reference numbers come before the transaction, a round trip each for
    the whole batch, so the transaction holds its locks only for the writes. The
    reference counter is bumped in its own statement (like a sequence: concurrent
    intakes never queue for a number), and duplicate candidates are a suggestion
    that needs no snapshot of the new rows.
    """
    now = datetime.now(UTC)
    errors = [i.new.check() for i in intakes]
    ctxs = await routing.intake_contexts(conn(), [(i.new.category, i.new.district, i.new.lat,
                                                   i.new.lon, i.new.channel) for i in intakes])
    for intake, ctx, errs in zip(intakes, ctxs, errors, strict=True):
        if intake.new.category is not None and ctx.category_id is None:
            errs["category"] = f"unknown category {intake.new.category!r}"
        if intake.new.district is not None and ctx.district_by_code is None:
            errs["district"] = f"unknown district {intake.new.district!r}"
    results: list[dict[str, Any] | ApiError] = [
        bad_request("invalid fields: " + ", ".join(sorted(e)), e) for e in errors]
    ok = [k for k, e in enumerate(errors) if not e]
    if not ok:
        return results
    refs, candidates = await asyncio.gather(
        next_references(conn(), now, len(ok)),
        duplicates.near_many(conn(), [(ctxs[k].category_id, intakes[k].new.lat,
                                       intakes[k].new.lon) for k in ok], now))
    cols: list[list[Any]] = [[] for _ in range(19)]
    for k, ref in zip(ok, refs, strict=True):
        new, ctx, principal = intakes[k].new, ctxs[k], intakes[k].principal
        priority = new.priority or ctx.default_priority or 3
        ack_due, resolve_due = due_times(priority, ctx.policy, submitted=now)
        hide = new.anonymous
        for col, value in enumerate((
                ref, new.channel, ctx.category_id, priority, new.address,
                ctx.district_by_code or ctx.district_by_position, new.lat, new.lon,
                "" if hide else new.reporter_name, "" if hide else new.reporter_phone,
                "" if hide else new.reporter_email, new.anonymous, new.description,
                json.dumps(new.tags), _json(new.attributes), ack_due, resolve_due,
                principal.id if principal is not None and principal.kind == "person"
                else None, new.status_key_hash)):
            cols[col].append(value)
    async with in_transaction() as tx:
        views = {r["reference"]: view_row(r) for r in await tx.execute_query_dict(
            _INSERT_MANY, [now, *cols])}
        rows: list[events.EventRow] = []
        for k, ref, near in zip(ok, refs, candidates, strict=True):
            view = views[ref]
            ticket = ticket_json(view, now)
            dupes = [c["reference"] for c in near]
            principal = intakes[k].principal
            actor = intakes[k].actor or (principal.actor if principal else "public")
            rows.append(("ticket.created", "ticket", view["id"], actor,
                         event_payload(view, diff(None, ticket), action="create",
                                       duplicate_candidates=dupes), view["department_id"]))
            results[k] = {**ticket, "duplicate_candidates": dupes}
        await events.append_many(tx, rows)
    return results


async def create_ticket(new: NewTicket, principal: Principal | None,
                        actor: str | None = None) -> dict[str, Any]:
    """Validate and store a new ticket; returns its JSON plus `duplicate_candidates`."""
    [result] = await create_tickets([Intake(new, principal, actor)])
    if isinstance(result, ApiError):
        raise result
    return result


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
