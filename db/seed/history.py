"""A year in the demo city: tickets as they happened, and the event log that says so.

The demo must look like an ordinary day in the room: most tickets were resolved
long ago within their SLA, a handful are open now (filed in the last days, waiting
on the center or a department), and a few are overdue. So each ticket is told as a
story: when it was filed (at the city's rate, busier by day), then each step the
room and the department took (triage, route, acknowledge, start, resolve, close;
or a rejection at verification; or a 112 call closed at once as no emergency),
with the SLA scheduler's breach mark where a deadline was missed. Durations are
drawn so that few deadlines are missed (city.LATE_*). Only the steps up to now
have happened: the ticket row is the state after the last of them, and every step
is one event carrying the payload the live code writes for it
(server/tickets/records.py builds it), so ticket history, public timelines,
reports, the wall and the queue all agree.

Deadlines, suggestions and payloads come from the server's own rules
(routing.intake_contexts, sla.due_times, records.event_payload): the seed never
re-types them. Drawing is plain Python over a fixed random seed (the same city
every time, ending now); writing is a handful of set-based statements: a year
(2,920 tickets, 18,000 events) costs about 1.7 s of Python and 1.2 s of Postgres
CPU on this kind of machine, where the old one-transaction-per-ticket seed of
300 tickets cost 1.2 s together, so a fresh `pantau up` is as quick as before
(the rest of the city is set-based now too).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from db.events import EVENT_LOCK
from db.seed import city

JAKARTA = ZoneInfo("Asia/Jakarta")
RANDOM_SEED = 2015
ACTOR_SLA = "system:sla"  # the SLA scheduler (server/tickets/scheduler.py)
SCAN_SECONDS = 30  # the scheduler notices a missed deadline within one scan
OPERATOR_CHANNELS = ("call112", "cctv", "walk_in")  # filed by the operator on duty
PUBLIC_ACTORS = {"open311": "open311", "web": "public:web"}

Progress = Callable[[str, int, int], None]


@dataclass
class Step:
    """One thing that happened to a ticket: its event, and the columns it set."""

    at: datetime
    kind: str
    action: str
    actor: str
    values: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # a resolve writes what was done as a ticket note
    bumps: bool = True  # people's actions bump the version; the SLA scheduler's do not


@dataclass
class Story:
    number: int
    created: datetime
    channel: str
    category: str | None
    district: str
    lat: float
    lon: float
    description: str
    reporter_name: str
    reporter_phone: str
    anonymous: bool
    not_emergency: tuple[str, str] | None = None  # a 112 call: (close reason, text)
    creator: str = ""  # the operator who filed it, or "" for the public
    priority: int = 3
    steps: list[Step] = field(default_factory=list)
    # Deadlines as sla.due_times sets them: when filed (a complaint's answer has none
    # before routing), and the answer's once routed.
    ack_due: datetime | None = None
    filed_resolve_due: datetime | None = None
    resolve_due: datetime | None = None

    @property
    def reference(self) -> str:
        return f"DEMO-{self.number:05d}"

    @property
    def created_by(self) -> str:
        return f"person:{self.creator}" if self.creator else PUBLIC_ACTORS[self.channel]

    def happened(self, now: datetime) -> list[Step]:
        return [s for s in self.steps if s.at <= now]


# -- who was on duty ------------------------------------------------------------------


def shift_code(at: datetime) -> str:
    hour = at.astimezone(JAKARTA).hour
    return "pagi" if 7 <= hour < 15 else "siang" if 15 <= hour < 23 else "malam"


def on_duty(rng: random.Random, at: datetime) -> str:
    """A call-center operator of the shift working at `at` (the seed's roster names)."""
    return f"cc.{shift_code(at)}.{rng.randint(1, 15):02d}"


def office_hours(at: datetime) -> datetime:
    """`at`, or the next moment a city office works (working days, 08:00-16:00 WIB)."""
    from server.tickets.calendar import is_working_day

    local = at.astimezone(JAKARTA)
    if is_working_day(local.date()) and time(8) <= local.time() < time(16):
        return at
    day = local.date() + timedelta(days=1) if local.time() >= time(16) else local.date()
    while not is_working_day(day):
        day += timedelta(days=1)
    opening = datetime.combine(day, time(8), JAKARTA)
    return opening + timedelta(minutes=local.minute % 50 + local.second / 60)


def verification_hours(at: datetime) -> datetime:
    """`at`, or the next morning: the night shift answers calls and alarms, and
    leaves the public's online complaints to the day (07:00-22:00 WIB)."""
    local = at.astimezone(JAKARTA)
    if time(7) <= local.time() < time(22):
        return at
    day = local.date() + timedelta(days=1) if local.time() >= time(22) else local.date()
    return datetime.combine(day, time(7), JAKARTA) + timedelta(minutes=local.minute)


# -- drawing the year -------------------------------------------------------------------


def arrivals(rng: random.Random, count: int, now: datetime) -> list[datetime]:
    """`count` filing times ending now, at city.TICKETS_PER_DAY, busier by day."""
    span = timedelta(days=count / city.TICKETS_PER_DAY)
    top = max(city.HOURLY_SHARES)
    out: list[datetime] = []
    while len(out) < count:
        at = now - span * rng.random()
        if now - at < timedelta(minutes=2):
            continue
        if rng.random() * top <= city.HOURLY_SHARES[at.astimezone(JAKARTA).hour]:
            out.append(at.replace(microsecond=0))
    return sorted(out)


def _pick(rng: random.Random, shares: dict[str, int], among: tuple[str, ...] = ()) -> str:
    keys = list(among or shares)
    return rng.choices(keys, weights=[shares[k] for k in keys])[0]


def draft(rng: random.Random, number: int, at: datetime,
          districts: dict[str, dict[str, Any]]) -> Story:
    """Who reported what, where, through which channel (the timeline comes later)."""
    channel = _pick(rng, city.CHANNEL_SHARES)
    not_emergency = None
    category: str | None
    if channel == "call112":
        if rng.random() < city.CALL_EMERGENCY_SHARE:
            category = _pick(rng, city.CATEGORY_SHARES, city.CALL_CATEGORIES)
        else:
            category = None
            reasons = city.CALLS_NOT_EMERGENCY
            reason, _, text = rng.choices(reasons, weights=[r[1] for r in reasons])[0]
            not_emergency = (reason, text)
    elif channel == "cctv":
        category = _pick(rng, city.CATEGORY_SHARES, city.CCTV_CATEGORIES)
    else:
        category = _pick(rng, city.CATEGORY_SHARES)
    district = rng.choice(sorted(districts))
    centre = districts[district]
    if not_emergency:
        description = not_emergency[1]
    else:
        assert category is not None
        description = (f"{city.COMPLAINT_TEXTS[category]} Lokasi {rng.choice(city.SPOTS)}, "
                       f"Kec. {centre['name']}.")
    anonymous = channel == "open311" and rng.random() < 0.12
    story = Story(
        number=number, created=at, channel=channel, category=category, district=district,
        lat=round(centre["lat"] + rng.uniform(-0.008, 0.008), 6),
        lon=round(centre["lon"] + rng.uniform(-0.008, 0.008), 6),
        description=description,
        reporter_name="" if anonymous else
        f"{rng.choice(city.FIRST_NAMES)} {rng.choice(city.LAST_NAMES)}",
        reporter_phone="" if anonymous else f"08{rng.randint(100000000, 999999999)}",
        anonymous=anonymous, not_emergency=not_emergency)
    if channel in OPERATOR_CHANNELS:
        story.creator = on_duty(rng, at)
    return story


def _minutes(rng: random.Random, lo: float, hi: float) -> timedelta:
    return timedelta(minutes=rng.uniform(lo, hi))


def _hours(rng: random.Random, lo: float, hi: float) -> timedelta:
    return timedelta(hours=rng.uniform(lo, hi))


def _days_late(rng: random.Random) -> timedelta:
    """How late a late complaint is: mostly a day or two, some drag on for weeks."""
    return timedelta(days=min(rng.lognormvariate(1.0, 0.9), 30))


def _status(step: Step, status: str, **values: Any) -> Step:
    step.values = {"status": status, **values}
    return step


def tell(rng: random.Random, story: Story, *, priority: int, department_id: int | None,
         department: dict[str, Any] | None, policy: Any) -> None:
    """Draw the ticket's steps, from filing to closing (some of them still to come),
    with its deadlines as the server sets them (sla.due_times): both from the call
    for an emergency, a complaint's answer from its routing."""
    from server.tickets.sla import due_times

    story.priority = priority
    ack_due, filed_resolve = due_times(priority, policy, submitted=story.created)
    story.ack_due, story.filed_resolve_due = ack_due, filed_resolve
    story.resolve_due = filed_resolve
    steps = story.steps
    t = story.created
    if story.not_emergency is not None:
        reason = story.not_emergency[0]
        t += _minutes(rng, 1, 4)
        steps.append(_status(Step(t, "ticket.status_changed", "close_call",
                                  f"person:{story.creator}", extra={"reason": reason}),
                             "closed", close_reason=reason, closed_at=t))
        return
    emergency = priority <= 2
    round_the_clock = bool(department and department["is_emergency_service"])

    def works(at: datetime) -> datetime:
        return at if round_the_clock or emergency else office_hours(at)

    # The room: verification of a report from the public takes a while; what an
    # operator files is triaged at once.
    if story.channel in OPERATOR_CHANNELS or emergency:
        t += _minutes(rng, 0.3, 2)
    else:
        t = verification_hours(t + timedelta(minutes=min(rng.lognormvariate(4.8, 0.8),
                                                          60 * 20)))
    desk = on_duty(rng, t)
    if story.channel in PUBLIC_ACTORS and not emergency and rng.random() < city.REJECT_SHARE:
        reason = rng.choice(city.REJECT_REASONS)
        steps.append(_status(Step(t, "ticket.status_changed", "reject", f"person:{desk}",
                                  extra={"reason": reason}),
                             "rejected", close_reason=reason, closed_at=t))
        return
    steps.append(_status(Step(t, "ticket.triaged", "triaged", f"person:{desk}"), "triaged"))
    t += _minutes(rng, 0.3, 1.5) if emergency else _minutes(rng, 2, 45)
    if department_id is None:
        return  # nobody to route to: it waits for an operator's decision
    routed = t
    resolve_due = due_times(priority, policy, submitted=story.created, routed=routed)[1]
    assert department is not None and resolve_due is not None
    story.resolve_due = resolve_due
    steps.append(_status(Step(t, "ticket.routed", "routed", f"person:{on_duty(rng, t)}",
                              extra={"previous_department_id": None}),
                         "routed", department_id=department_id, flagged=False,
                         routed_at=routed, resolve_due_at=resolve_due))
    staff = f"person:{department['code']}.staff"
    # The department: acknowledge, start (for an emergency: dispatch), resolve.
    late_ack = rng.random() < city.LATE_ACK_SHARE
    late_resolve = rng.random() < city.LATE_RESOLVE_SHARE
    if emergency:
        # Dispatch (in_progress) is the second promise, often due before the
        # acknowledgement's own deadline: an acknowledgement in time leaves room for it.
        limit = min(ack_due, resolve_due)
        if late_ack or limit - routed < timedelta(seconds=40):
            ack = max(ack_due, routed) + _minutes(rng, 1, 12)
        else:
            ack = routed + (limit - routed) * rng.uniform(0.15, 0.7)
        if late_resolve or resolve_due <= ack:
            start = max(resolve_due, ack) + _minutes(rng, 2, 25)
        else:
            start = ack + (resolve_due - ack) * rng.uniform(0.2, 0.9)
        resolved = start + (_minutes(rng, 20, 240) if priority == 1 else _hours(rng, 1, 20))
    else:
        # Complaints: the answer within the working days promised, acknowledged
        # and started on the way (office hours, unless the department never closes).
        if late_resolve:
            resolved = works(resolve_due + _days_late(rng))
        else:
            resolved = works(routed + (resolve_due - routed) * rng.uniform(0.2, 0.9))
            if resolved > resolve_due:
                resolved = resolve_due - _hours(rng, 0.5, 4)
        resolved = max(resolved, routed + timedelta(hours=1))
        if late_ack:
            ack = works(ack_due + _days_late(rng))
            resolved = max(resolved, ack + _hours(rng, 2, 48))
        else:
            ack = works(routed + _hours(rng, 0.3, 20))
            limit = min(ack_due, resolved)
            if ack >= limit:
                ack = routed + (limit - routed) * rng.uniform(0.1, 0.6)
        start = ack + (resolved - ack) * rng.uniform(0.05, 0.6)
    steps.append(_status(Step(ack, "ticket.status_changed", "acknowledge", staff),
                         "acknowledged", acknowledged_at=ack))
    steps.append(_status(Step(start, "ticket.status_changed", "start", staff), "in_progress"))
    steps.append(_status(Step(resolved, "ticket.status_changed", "resolve", staff,
                              note=city.RESOLVE_NOTES[department["code"]]),
                         "resolved", resolved_at=resolved))
    closed = resolved + _hours(rng, 2, 72)
    steps.append(_status(Step(closed, "ticket.status_changed", "close",
                              f"person:{on_duty(rng, closed)}"),
                         "closed", closed_at=closed))


def row_at(story: Story, at: datetime) -> dict[str, Any]:
    """The columns the SLA rules read, as they were at `at`."""
    row: dict[str, Any] = {"status": "new", "acknowledged_at": None, "priority": story.priority,
                           "ack_due_at": story.ack_due,
                           "resolve_due_at": story.filed_resolve_due}
    for step in story.steps:
        if step.at > at:
            break
        row.update({k: v for k, v in step.values.items() if k in row})
    return row


def add_breaches(rng: random.Random, story: Story, now: datetime) -> None:
    """The scheduler's breach marks for the deadlines the story missed by `now`:
    a deadline still running (sla.py's rule) when it passed."""
    from server.tickets.sla import ack_running, resolve_running

    missed: dict[datetime, list[str]] = {}
    for name, due, running_rule in (("ack", story.ack_due, ack_running),
                                    ("resolve", story.resolve_due, resolve_running)):
        if due is None or due > now:
            continue
        if running_rule(row_at(story, due)):
            at = min(due + timedelta(seconds=rng.uniform(1, SCAN_SECONDS)), now)
            missed.setdefault(at, []).append(name)
    for at, names in missed.items():
        values = {f"{n}_breached_at": at for n in names}
        story.steps.append(Step(at, "ticket.sla_breached", "sla_breached", ACTOR_SLA,
                                values=values, extra={"missed": names}, bumps=False))
    story.steps.sort(key=lambda s: s.at)


# -- writing it -------------------------------------------------------------------------


_INSERT_TICKETS = """
INSERT INTO tickets (id, reference, channel, category_id, priority, status, address,
                     district_id, lat, lon, reporter_name, reporter_phone, anonymous,
                     description, department_id, close_reason,
                     ack_due_at, resolve_due_at, routed_at, ack_breached_at,
                     resolve_breached_at, version, created_by_id, created_at, updated_at,
                     acknowledged_at, resolved_at, closed_at)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[],
                     $7::text[], $8::int[], $9::float8[], $10::float8[], $11::text[],
                     $12::text[], $13::bool[], $14::text[], $15::int[], $16::text[],
                     $17::timestamptz[], $18::timestamptz[], $19::timestamptz[],
                     $20::timestamptz[], $21::timestamptz[], $22::int[], $23::int[],
                     $24::timestamptz[], $25::timestamptz[], $26::timestamptz[],
                     $27::timestamptz[], $28::timestamptz[])
"""
_INSERT_NOTES = """
INSERT INTO ticket_notes (id, ticket_id, origin_ticket_id, author_id, body, created_at)
SELECT n.id, n.ticket_id, n.ticket_id, n.author_id, n.body, n.created_at
FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::text[], $5::timestamptz[])
     AS n(id, ticket_id, author_id, body, created_at)
"""
# Numbered like db/events.py numbers at commit, but in the order things happened:
# the event-log lock (held to the end of this transaction) keeps any other
# writer's events from becoming visible between these.
_INSERT_EVENTS = """
INSERT INTO events (id, kind, subject_type, subject_id, actor, department_id, payload,
                    created_at)
SELECT nextval('events_id_seq'), e.kind, 'ticket', e.subject_id, e.actor, e.department_id,
       e.payload::jsonb, e.at
FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::timestamptz[])
     WITH ORDINALITY AS e(kind, subject_id, actor, department_id, payload, at, n)
ORDER BY e.n
"""
_RESERVE = "SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id FROM generate_series(1, $2)"


async def _reserve(tx: BaseDBAsyncClient, table: str, n: int) -> list[int]:
    if n == 0:
        return []
    return [int(r["id"]) for r in await tx.execute_query_dict(_RESERVE, [table, n])]


@dataclass
class Place:
    """What intake would have known about a ticket: its ids, its department and its
    deadlines (routing.intake_contexts and sla.due_times, as for a new ticket)."""

    category_id: int | None
    district_id: int | None
    suggested: int | None
    department: dict[str, Any] | None
    priority: int
    policy: Any  # sla.Policy of the department that will answer


def draw(count: int, now: datetime, districts: dict[str, dict[str, Any]]
         ) -> tuple[random.Random, list[Story]]:
    """The year's tickets, filed but not yet handled; and the random stream to go on."""
    rng = random.Random(RANDOM_SEED)
    return rng, [draft(rng, n, at, districts)
                 for n, at in enumerate(arrivals(rng, count, now), 1)]


def handle(rng: random.Random, stories: list[Story], places: list[Place],
           now: datetime) -> None:
    """Tell every story up to `now`: its steps, its breach marks."""
    for story, place in zip(stories, places, strict=True):
        tell(rng, story, priority=place.priority, department_id=place.suggested,
             department=place.department, policy=place.policy)
        add_breaches(rng, story, now)
        story.steps = story.happened(now)


async def where(tx: BaseDBAsyncClient, stories: list[Story],
                departments: dict[int, dict[str, Any]]) -> list[Place]:
    """Each story's Place, in one round trip."""
    from server.tickets import routing

    return [Place(ctx.category_id, ctx.district_by_code or ctx.district_by_position,
                  ctx.suggested_department_id,
                  departments.get(ctx.suggested_department_id or -1),
                  ctx.default_priority or 3, ctx.policy)
            for ctx in await routing.intake_contexts(
                tx, [(s.category, s.district, s.lat, s.lon, s.channel) for s in stories])]


async def seed_history(tx: BaseDBAsyncClient, count: int, now: datetime,
                       progress: Progress) -> int:
    """Write `count` demo tickets ending `now`, with their notes and events, in `tx`."""
    from server.tickets.records import VIEW_SQL, diff, event_payload, view_row
    from server.tickets.sla import sla_state

    districts = {r["code"]: r for r in await tx.execute_query_dict(
        "SELECT id, code, name, lat, lon FROM districts")}
    departments = {r["id"]: r for r in await tx.execute_query_dict(
        "SELECT * FROM departments")}
    people = {r["username"]: r["id"] for r in await tx.execute_query_dict(
        "SELECT id, username FROM people")}
    rng, stories = draw(count, now, districts)
    places = await where(tx, stories, departments)
    handle(rng, stories, places, now)
    progress("tickets", count // 3, count)
    ids = await _reserve(tx, "tickets", len(stories))
    cols: list[list[Any]] = [[] for _ in range(28)]
    for story, place, tid in zip(stories, places, ids, strict=True):
        final = _final(story)
        for k, v in enumerate((
                tid, story.reference, story.channel, place.category_id, story.priority,
                final["status"], f"Kec. {districts[story.district]['name']}, Bandung",
                place.district_id, story.lat, story.lon, story.reporter_name,
                story.reporter_phone, story.anonymous, story.description,
                final["department_id"], final["close_reason"],
                story.ack_due, final["resolve_due_at"], final["routed_at"],
                final["ack_breached_at"],
                final["resolve_breached_at"], final["version"], people.get(story.creator),
                story.created, final["updated_at"], final["acknowledged_at"],
                final["resolved_at"], final["closed_at"])):
            cols[k].append(v)
    await tx.execute_query(_INSERT_TICKETS, cols)
    notes = [(tid, step) for story, tid in zip(stories, ids, strict=True)
             for step in story.steps if step.note]
    note_ids = await _reserve(tx, "ticket_notes", len(notes))
    note_json: dict[int, dict[str, Any]] = {}
    for nid, (tid, step) in zip(note_ids, notes, strict=True):
        author = people.get(step.actor.removeprefix("person:"))
        note_json[id(step)] = {"id": nid, "ticket_id": tid, "author_id": author,
                               "body": step.note, "created_at": step.at.isoformat()}
    if notes:
        await tx.execute_query(_INSERT_NOTES, [
            note_ids, [tid for tid, _ in notes],
            [note_json[id(s)]["author_id"] for _, s in notes], [s.note for _, s in notes],
            [s.at for _, s in notes]])
    progress("tickets", 2 * count // 3, count)
    views = {r["id"]: view_row(r) for r in await tx.execute_query_dict(
        VIEW_SQL + " WHERE t.id = ANY($1::bigint[])", [ids])}
    rows: list[tuple[datetime, str, str, str, int | None, str]] = []
    for story, place, tid in zip(stories, places, ids, strict=True):
        before = _as_filed(views[tid], story, place)
        payload = event_payload(before, {}, action="create", duplicate_candidates=[])
        before_json = payload["ticket"]
        before_json["sla_state"] = sla_state(before, story.created)
        payload["changes"] = diff(None, before_json)
        rows.append((story.created, "ticket.created", str(tid), story.created_by, None,
                     json.dumps(payload, separators=(",", ":"))))
        for step in story.steps:
            after = _after(before, step, place, departments)
            extra = dict(step.extra)
            if step.note:
                extra["note"] = note_json[id(step)]
            payload = event_payload(after, {}, action=step.action, **extra)
            # The ticket as it was then: its SLA state judged at that moment.
            after_json = payload["ticket"]
            after_json["sla_state"] = sla_state(after, step.at)
            payload["changes"] = diff(before_json, after_json)
            dept = after["department_id"] if after["department_id"] is not None \
                else before["department_id"]
            rows.append((step.at, step.kind, str(tid), step.actor, dept,
                         json.dumps(payload, separators=(",", ":"))))
            before, before_json = after, after_json
    rows.sort(key=lambda r: r[0])
    await tx.execute_query("SELECT pg_advisory_xact_lock($1)", [EVENT_LOCK])
    await tx.execute_query(_INSERT_EVENTS, [[r[1] for r in rows], [r[2] for r in rows],
                                            [r[3] for r in rows], [r[4] for r in rows],
                                            [r[5] for r in rows], [r[0] for r in rows]])
    progress("tickets", count, count)
    return len(stories)


_FILED = {"status": "new", "department_id": None, "close_reason": "", "flagged": False,
          "ack_breached_at": None, "resolve_breached_at": None, "acknowledged_at": None,
          "resolved_at": None, "closed_at": None, "routed_at": None}


def _final(story: Story) -> dict[str, Any]:
    """The row's columns after the steps that happened."""
    row: dict[str, Any] = {**_FILED, "updated_at": story.created,
                           "resolve_due_at": story.filed_resolve_due}
    version = 1
    for step in story.steps:
        row.update(step.values)
        if step.bumps:
            version += 1
            row["updated_at"] = step.at
    return row | {"version": version}


def _as_filed(view: dict[str, Any], story: Story, place: Place) -> dict[str, Any]:
    """The joined row as it was when the ticket was filed."""
    row = {**view, **_FILED, "dep_code": None, "dep_name": None, "version": 1,
           "updated_at": story.created, "resolve_due_at": story.filed_resolve_due}
    return _suggesting(row, place)


def _after(row: dict[str, Any], step: Step, place: Place,
           departments: dict[int, dict[str, Any]]) -> dict[str, Any]:
    out = {**row, **step.values}
    if "department_id" in step.values:
        dept = departments.get(step.values["department_id"] or -1)
        out["dep_code"] = dept["code"] if dept else None
        out["dep_name"] = dept["name"] if dept else None
    if step.bumps:
        out["version"] = row["version"] + 1
        out["updated_at"] = step.at
    return _suggesting(out, place)


def _suggesting(row: dict[str, Any], place: Place) -> dict[str, Any]:
    """The suggestion the view gives a ticket in this status (routing.SUGGESTION_JOIN)."""
    from server.tickets.sla import OPEN_STATUSES

    dept = place.department if row["status"] in OPEN_STATUSES else None
    row["suggested_department_id"] = dept["id"] if dept else None
    row["sd_code"] = dept["code"] if dept else None
    row["sd_name"] = dept["name"] if dept else None
    return row
