"""`pantau seed demo`: a Bandung-like city with staff, cameras, shifts and a year of
tickets (db/seed/history.py).

Idempotent: every row is keyed by its code or username and skipped when present,
so running it twice (or on every `pantau up`) changes nothing the second time,
except that a run on a new day plans that day's shifts.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.transactions import in_transaction

from db import events
from db.models import (
    ApiKey,
    Camera,
    Category,
    Department,
    Device,
    District,
    Monitor,
    MonitorCamera,
    Person,
    RoutingRule,
    Shift,
    ShiftAssignment,
    ShiftTemplate,
    StaffingMinimum,
    Ticket,
)
from db.passwords import hash_password
from db.seed import city, history
from db.vault import server_key

JAKARTA = ZoneInfo("Asia/Jakarta")
DEMO_PASSWORD = "pantau-demo"
# Printed by `pantau up` so a newcomer can file a complaint through Open311 at once.
DEMO_OPEN311_KEY = "demo-open311-key"
DEMO_LOGINS = [
    ("operator", "call-center operator"),
    ("supervisor", "shift supervisor"),
    ("dsdabm.staff", "department staff (Roads and Drainage)"),
    ("admin", "administrator"),
]
DEMO_TICKETS = city.DEMO_TICKETS  # a year of them
# Panic-button devices: (code, owner, kind, address, district, lat, lon, contacts).
# Their secrets are published like the demo password (`demo_device_secret`), so
# `pantau device press demo-braga` works out of the box; rotate them for real use.
DEMO_DEVICES = [
    ("demo-braga", "Toko Sepatu Braga", "place", "Jl. Braga No. 12", "sumur-bandung",
     -6.9172, 107.6094, [{"name": "Pemilik toko", "phone": "+62811000001", "channel": "sms"}]),
    ("demo-dago", "Siti Nurhaliza", "citizen", "Jl. Ir. H. Juanda No. 88", "coblong",
     -6.8853, 107.6132, [{"name": "Ahmad (suami)", "phone": "+62811000002",
                          "channel": "whatsapp"},
                         {"name": "Rina (anak)", "phone": "+62811000003", "channel": "sms"}]),
    ("demo-alun-alun", "Masjid Raya Bandung", "place", "Jl. Dalem Kaum No. 14", "regol",
     -6.9216, 107.6067, []),
    ("demo-ujungberung", "Bapak Dedi Mulyadi", "citizen", "Jl. AH Nasution No. 3",
     "ujungberung", -6.9125, 107.7010,
     [{"name": "Yanti (istri)", "phone": "+62811000004", "channel": "whatsapp"}]),
]
ACTOR = "system:seed"

Progress = Callable[[str, int, int], None]


def _quiet(_step: str, _done: int, _total: int) -> None:
    return None


async def seed_demo(progress: Progress = _quiet, *, tickets: int = DEMO_TICKETS,
                    now: datetime | None = None) -> dict[str, int]:
    """Create the demo city as of `now` (default: now); returns how many rows of
    each kind were created."""
    now = now or datetime.now(UTC)
    created: dict[str, int] = {}
    created["districts"] = await _districts(progress)
    created["departments"] = await _departments(progress)
    created["categories"] = await _categories(progress)
    created["cameras"] = await _cameras(progress)
    created["monitors"] = await _monitors(progress)
    created["people"] = await _people(progress)
    created["shifts"] = await _shifts(progress, now)
    created["api_keys"] = await _api_key()
    created["devices"] = await _devices(progress)
    created["tickets"] = await _tickets(progress, tickets, now)
    return created


async def _districts(progress: Progress) -> int:
    n = 0
    for i, (code, name, lat, lon) in enumerate(city.DISTRICTS, 1):
        _, made = await District.get_or_create(code=code,
                                               defaults={"name": name, "lat": lat, "lon": lon})
        n += made
        progress("districts", i, len(city.DISTRICTS))
    return n


async def _departments(progress: Progress) -> int:
    n = 0
    for i, (code, name, name_en, emergency, ack, resolve) in enumerate(city.DEPARTMENTS, 1):
        _, made = await Department.get_or_create(code=code, defaults={
            "name": name, "name_en": name_en, "is_emergency_service": emergency,
            "sla_ack_minutes": ack, "sla_resolve_days": resolve})
        n += made
        progress("departments", i, len(city.DEPARTMENTS))
    return n


async def _categories(progress: Progress) -> int:
    n = 0
    depts = {d.code: d for d in await Department.all()}
    for i, (code, name, name_en, dept, prio) in enumerate(city.CATEGORIES, 1):
        cat, made = await Category.get_or_create(code=code, defaults={
            "name": name, "name_en": name_en, "department": depts[dept],
            "default_priority": prio, "description": name_en})
        n += made
        if not await RoutingRule.filter(category=cat, district=None).exists():
            await RoutingRule.create(category=cat, district=None, department=depts[dept])
        progress("categories", i, len(city.CATEGORIES))
    return n


async def _cameras(progress: Progress) -> int:
    districts = {d.code: d.id for d in await District.all()}
    rows = await connections.get("default").execute_query_dict(
        "INSERT INTO cameras (code, name, district_id, lat, lon, source_kind, source_url)"
        " SELECT c.code, c.name, c.district_id, c.lat, c.lon, 'synthetic', 'synthetic://' || c.code"
        " FROM unnest($1::text[], $2::text[], $3::int[], $4::float8[], $5::float8[])"
        "      AS c(code, name, district_id, lat, lon)"
        " ON CONFLICT (code) DO NOTHING RETURNING id",
        [[c[0] for c in city.CAMERAS], [c[1] for c in city.CAMERAS],
         [districts[c[2]] for c in city.CAMERAS], [c[3] for c in city.CAMERAS],
         [c[4] for c in city.CAMERAS]])
    progress("cameras", len(city.CAMERAS), len(city.CAMERAS))
    return len(rows)


async def _monitors(progress: Progress) -> int:
    cams = list(await Camera.all().order_by("id"))
    specs = [
        ("main", "Dinding utama (24 kamera)", "4x6", cams[:24], 0, True),
        ("pusat-kota", "Pusat kota", "2x2", [c for c in cams if c.code in
                                            ("alun-alun", "asia-afrika", "braga", "merdeka")],
         0, True),
        ("rotasi", "Rotasi 3x3", "3x3", cams, 20, True),
    ]
    n = 0
    for i, (code, name, layout, members, rotation, alarms) in enumerate(specs, 1):
        mon, made = await Monitor.get_or_create(code=code, defaults={
            "name": name, "layout": layout, "rotation_seconds": rotation,
            "show_alarms": alarms})
        n += made
        if made:
            await MonitorCamera.bulk_create([MonitorCamera(monitor=mon, camera=cam, position=pos)
                                             for pos, cam in enumerate(members)])
        progress("monitors", i, len(specs))
    return n


def _roster() -> list[tuple[str, str, list[str], str | None]]:
    """(username, full name, roles, department) for the demo staff."""
    rng = random.Random(19012015)  # BCC opened 19 January 2015
    people: list[tuple[str, str, list[str], str | None]] = [
        ("admin", "Admin Pantau", ["admin"], None),
        ("operator", "Rina Operator", ["call_center"], None),
        ("supervisor", "Dadang Supervisor", ["supervisor"], None),
    ]
    for dept in city.DEPARTMENTS:
        people.append((f"{dept[0]}.staff", f"Staf {dept[2]}", ["department"], dept[0]))
    for shift in ("pagi", "siang", "malam"):
        people.append((f"spv.{shift}", f"{rng.choice(city.FIRST_NAMES)} "
                       f"{rng.choice(city.LAST_NAMES)}", ["supervisor"], None))
        for role, count in (("expert", 9), ("call_center", 15), ("police", 4)):
            short = {"expert": "ahli", "call_center": "cc", "police": "polisi"}[role]
            for k in range(1, count + 1):
                name = f"{rng.choice(city.FIRST_NAMES)} {rng.choice(city.LAST_NAMES)}"
                people.append((f"{short}.{shift}.{k:02d}", name, [role], None))
    return people


_INSERT_PEOPLE = """
INSERT INTO people (username, full_name, password_hash, roles, department_id)
SELECT p.username, p.full_name, $5, ARRAY(SELECT jsonb_array_elements_text(p.roles)),
       p.department_id
FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::int[])
     AS p(username, full_name, roles, department_id)
ON CONFLICT (username) DO NOTHING
RETURNING id, username
"""


async def _people(progress: Progress) -> int:
    roster = _roster()
    existing = set(await Person.all().values_list("username", flat=True))
    missing = [p for p in roster if p[0] not in existing]
    progress("people", len(roster) - len(missing), len(roster))
    if not missing:
        return 0
    depts = {d.code: d.id for d in await Department.all()}
    # Demo accounts share one published password, so one argon2 hash serves them
    # all and seeding stays fast; real accounts are made with `pantau user add`.
    pw_hash = hash_password(DEMO_PASSWORD)
    async with in_transaction() as tx:
        made = {r["username"]: r["id"] for r in await tx.execute_query_dict(_INSERT_PEOPLE, [
            [p[0] for p in missing], [p[1] for p in missing],
            [json.dumps(p[2]) for p in missing],
            [depts[p[3]] if p[3] else None for p in missing], pw_hash])}
        await events.append_many(tx, [
            ("person.created", "person", made[username], ACTOR,
             {"username": username, "roles": roles, "department": dept},
             depts[dept] if dept else None)
            for username, _, roles, dept in missing if username in made])
    progress("people", len(roster), len(roster))
    return len(made)


# The demo's own accounts are on every shift the seed plans, so whoever tries
# the demo, whenever, can `shift: check in` as them.
DEMO_ON_EVERY_SHIFT = (("operator", "call_center"), ("supervisor", "supervisor"))


async def _shifts(progress: Progress, now: datetime) -> int:
    for code, name, start, end in city.SHIFT_TEMPLATES:
        tpl, _ = await ShiftTemplate.get_or_create(code=code, defaults={
            "name": name, "starts_at": time.fromisoformat(start),
            "ends_at": time.fromisoformat(end)})
        for role, minimum in city.STAFFING.items():
            await StaffingMinimum.get_or_create(template=tpl, role=role,
                                                defaults={"minimum": minimum})
    # Today's three shifts (Asia/Jakarta), rostered with the demo staff, and
    # yesterday's night shift: until it ends in the morning it is the current one.
    today: date = now.astimezone(JAKARTA).date()
    people = {p.username: p for p in await Person.all()}
    n = 0
    templates = await ShiftTemplate.all()
    slots = [(tpl, day) for tpl in templates
             for day in ((today - timedelta(days=1), today) if tpl.ends_at <= tpl.starts_at
                         else (today,))]
    for i, (tpl, day) in enumerate(slots, 1):
        shift, made = await Shift.get_or_create(template=tpl, day=day)
        n += made
        if made:
            await ShiftAssignment.bulk_create([
                ShiftAssignment(shift=shift, person=p, role=p.roles[0])
                for username, p in people.items()
                if username.split(".")[1:2] == [tpl.code] or username == f"spv.{tpl.code}"])
        if shift.status != "closed":
            # Also on shifts an earlier seed planned without them.
            await connections.get("default").execute_query(
                "INSERT INTO shift_assignments (shift_id, person_id, role)"
                " SELECT $1, p.id, d.role FROM unnest($2::text[], $3::text[]) AS d(username, role)"
                " JOIN people p ON p.username = d.username"
                " ON CONFLICT (shift_id, person_id) DO NOTHING",
                [shift.id, [u for u, _ in DEMO_ON_EVERY_SHIFT],
                 [r for _, r in DEMO_ON_EVERY_SHIFT]])
        progress("shifts", i, len(slots))
    return n


async def _api_key() -> int:
    digest = hashlib.sha256(DEMO_OPEN311_KEY.encode()).hexdigest()
    _, made = await ApiKey.get_or_create(key_hash=digest, defaults={"name": "demo app"})
    return int(made)


def demo_device_secret(code: str) -> str:
    """The published secret of a demo device (see DEMO_DEVICES)."""
    return f"pds_demo_{code}"


async def _devices(progress: Progress) -> int:
    districts = {d.code: d for d in await District.all()}
    n = 0
    for i, (code, owner, kind, address, district, lat, lon, contacts) in enumerate(
            DEMO_DEVICES, 1):
        if not await Device.filter(code=code).exists():
            async with in_transaction() as tx:
                dev = await Device.create(
                    code=code, owner_name=owner, owner_kind=kind, address=address,
                    district=districts[district], lat=lat, lon=lon,
                    sealed_secret=server_key(create=True).seal(demo_device_secret(code)),
                    contacts=contacts, using_db=tx)
                await events.append(tx, "device.enrolled", "device", dev.id, ACTOR,
                                    {"device": code, "owner_name": owner, "owner_kind": kind,
                                     "district": district})
            n += 1
        progress("devices", i, len(DEMO_DEVICES))
    return n


async def _tickets(progress: Progress, count: int, now: datetime) -> int:
    """The demo city's year of tickets (db/seed/history.py), once."""
    if await Ticket.filter(reference__startswith="DEMO-").exists():
        progress("tickets", count, count)
        return 0
    async with in_transaction() as tx:
        return await history.seed_history(tx, count, now, progress)
