"""Shift rules against a real Postgres: staffing minimums, open/close, handover
acknowledgement and supervisor-approved swaps. Times are passed explicitly so the
rules are tested at chosen moments of the seeded shifts' windows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from db.models import Shift
from db.vault import server_key
from server.shifts import handover, lifecycle, presence, roster
from server.shifts.actors import Actor, load_actor
from server.shifts.errors import ShiftError
from server.shifts.store import ShiftRow, get_shift


async def _shift(code: str) -> ShiftRow:
    from tortoise import connections

    s = await Shift.filter(template__code=code).order_by("day").first()
    assert s is not None
    return await get_shift(connections.get("default"), s.id)


async def _events(url: str, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT kind, subject_id, actor, payload::text AS payload"
                                " FROM events WHERE kind = ANY($1::text[]) ORDER BY id",
                                list(kinds))
    finally:
        await conn.close()
    import json

    return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]


# The demo's own accounts are rostered on every shift the seed plans (so anyone
# trying the demo can check in as them); these tests leave them out of the counts.
DEMO_ACCOUNTS = ("operator", "supervisor")


async def _spare(username: str = "cc.cadangan") -> str:
    """A call-center operator on no shift at all, to assign or bring in."""
    from db.models import Person

    await Person.create(username=username, full_name="Operator Cadangan",
                        password_hash="x", roles=["call_center"])
    return username


async def _roster_names(shift_id: int, role: str) -> list[str]:
    from tortoise import connections

    return [r["username"] for r in await roster.roster(connections.get("default"), shift_id)
            if r["role"] == role]


async def test_open_shift_is_understaffed_until_minimums_are_present(orm: str) -> None:
    pagi = await _shift("pagi")
    start, _ = pagi.window
    now = start + timedelta(minutes=5)
    spv = await load_actor("spv.pagi")
    opened = await lifecycle.open_shift(pagi.id, spv, now=now)
    assert opened["shortfall"] == {"call_center": 15, "expert": 9, "police": 4,
                                   "supervisor": 1}
    names = {role: await _roster_names(pagi.id, role)
             for role in ("call_center", "expert", "police", "supervisor")}
    everyone = [n for role in names.values() for n in role if n not in DEMO_ACCOUNTS]
    last = [n for n in names["call_center"] if n not in DEMO_ACCOUNTS][-1]
    for username in everyone:
        if username != last:
            await presence.check_in(await load_actor(username, via="api"), pagi.id, now=now)
    row = await get_shift(__import__("tortoise").connections.get("default"), pagi.id)
    assert row.understaffed_since is not None and row.shortfall == {"call_center": 1}
    # The last call-center operator arrives: the warning ends.
    await presence.check_in(spv, pagi.id, last, now=now)
    police = names["police"][0]
    await presence.check_out(await load_actor(police), pagi.id, now=now + timedelta(hours=1))
    evs = await _events(orm, ("shift.opened", "shift.understaffed", "shift.staffed",
                              "shift.checked_in", "shift.checked_out"))
    kinds = [e["kind"] for e in evs]
    assert kinds[0] == "shift.opened"
    assert kinds.count("shift.checked_in") == 29
    warnings = [(e["kind"], e["payload"]["shortfall"]) for e in evs
                if e["kind"] in ("shift.understaffed", "shift.staffed")]
    # Once when opened, once per change of shortfall, then fixed, then short again.
    assert warnings[0] == ("shift.understaffed", {"call_center": 15, "expert": 9,
                                                  "police": 4, "supervisor": 1})
    assert warnings[-3:] == [("shift.understaffed", {"call_center": 1}),
                             ("shift.staffed", {}),
                             ("shift.understaffed", {"police": 1})]
    assert all(e["subject_id"] == str(pagi.id) for e in evs)


async def test_check_in_rules(orm: str) -> None:
    pagi = await _shift("pagi")
    start, _end = pagi.window
    cc = await load_actor("cc.pagi.01")
    with pytest.raises(ShiftError, match="opens an hour before"):
        await presence.check_in(cc, pagi.id, now=start - timedelta(hours=2))
    with pytest.raises(ShiftError) as other:
        await presence.check_in(cc, pagi.id, "cc.pagi.02", now=start)
    assert other.value.code == "forbidden"
    with pytest.raises(ShiftError, match="not on pagi"):
        await presence.check_in(await load_actor("cc.siang.01"), pagi.id, now=start)
    done = await presence.check_in(cc, None, now=start - timedelta(minutes=30))
    assert done["shift_id"] == pagi.id  # found from the roster and the clock
    with pytest.raises(ShiftError, match="already checked in"):
        await presence.check_in(cc, pagi.id, now=start)
    with pytest.raises(ShiftError, match="not checked in"):
        await presence.check_out(await load_actor("cc.pagi.02"), now=start)


async def test_only_supervisors_change_shifts(orm: str) -> None:
    pagi = await _shift("pagi")
    start, _ = pagi.window
    cc = await load_actor("cc.pagi.01")
    attempts = [
        lifecycle.open_shift(pagi.id, cc, now=start),
        lifecycle.close_shift(pagi.id, cc, "x", now=start),
        roster.assign(pagi.id, "operator", None, cc),
        roster.swap(pagi.id, "cc.pagi.02", "cc.siang.02", cc),
        handover.write_handover(pagi.id, cc, "x", now=start),
    ]
    for attempt in attempts:
        with pytest.raises(ShiftError) as exc:
            await attempt
        assert exc.value.code == "forbidden"
    assert (await _events(orm, ("shift.opened", "shift.assigned", "shift.swapped"))) == []


async def test_open_refuses_outside_window_twice_and_when_another_is_open(orm: str) -> None:
    pagi, siang = await _shift("pagi"), await _shift("siang")
    start, end = pagi.window
    spv = await load_actor("supervisor")
    with pytest.raises(ShiftError, match="opens at most an hour early"):
        await lifecycle.open_shift(pagi.id, spv, now=start - timedelta(hours=2))
    with pytest.raises(ShiftError, match="opens at most an hour early"):
        await lifecycle.open_shift(pagi.id, spv, now=end)
    await lifecycle.open_shift(pagi.id, spv, now=start)
    with pytest.raises(ShiftError, match="already open"):
        await lifecycle.open_shift(pagi.id, spv, now=start)
    with pytest.raises(ShiftError, match=r"pagi .* is still open"):
        await lifecycle.open_shift(siang.id, spv, now=end - timedelta(minutes=30))


async def _incident_fixtures(url: str, start: datetime) -> None:
    conn = await asyncpg.connect(url)
    try:
        # Only our tickets count below: the seeded ones get no urgency and no deadlines.
        await conn.execute("UPDATE tickets SET priority = 3, ack_due_at = NULL,"
                           " resolve_due_at = NULL")
        await conn.execute(
            "INSERT INTO tickets (reference, channel, priority, status, description,"
            " created_at, ack_due_at, resolve_due_at) VALUES"
            " ('T-P1', 'call112', 1, 'routed', 'fire', $1, $2, $3),"
            " ('T-LATE', 'web', 3, 'acknowledged', 'late ack', $1, $4, $5),"
            " ('T-OK', 'web', 3, 'acknowledged', 'on time', $1, $4, $5)",
            start - timedelta(hours=3), start + timedelta(hours=1),
            start + timedelta(days=2), start + timedelta(hours=2), start + timedelta(days=9))
        await conn.execute("UPDATE tickets SET acknowledged_at = $1 WHERE reference = 'T-LATE'",
                           start + timedelta(hours=3))
        await conn.execute("UPDATE tickets SET acknowledged_at = $1 WHERE reference = 'T-OK'",
                           start + timedelta(hours=1))
        dev = await conn.fetchval(
            "INSERT INTO devices (code, owner_name, lat, lon, sealed_secret)"
            " VALUES ('toko-1', 'Toko', -6.9, 107.6, $1) RETURNING id", server_key().seal("s"))
        await conn.execute(
            "INSERT INTO panic_alarms (device_id, idempotency_key, status, lat, lon, raised_at)"
            " VALUES ($1, 'a1', 'raised', -6.9, 107.6, $2), ($1, 'a2', 'dispatched', -6.9,"
            " 107.6, $2), ($1, 'a3', 'resolved', -6.9, 107.6, $2)",
            dev, start + timedelta(hours=4))
        cam = await conn.fetchrow("SELECT id, code FROM cameras ORDER BY id LIMIT 1")
        for kind in ("camera.online", "camera.offline"):
            await conn.execute(
                "INSERT INTO events (kind, subject_type, subject_id, actor)"
                " VALUES ($1, 'camera', $2, 'system:relay')", kind, str(cam["id"]))
    finally:
        await conn.close()


async def test_close_writes_handover_that_the_incoming_supervisor_must_acknowledge(
        orm: str) -> None:
    pagi, siang = await _shift("pagi"), await _shift("siang")
    start, end = pagi.window
    await _incident_fixtures(orm, start)
    out_spv, in_spv = await load_actor("spv.pagi"), await load_actor("spv.siang")
    await lifecycle.open_shift(pagi.id, out_spv, now=start)
    closed = await lifecycle.close_shift(pagi.id, out_spv, "Banjir di Cicendo, pantau terus",
                                         now=end - timedelta(minutes=5))
    note = closed["handover"]
    assert note["next_shift_id"] == siang.id and note["pending"]
    assert note["notes"] == "Banjir di Cicendo, pantau terus"
    summary = note["summary"]
    assert [t["reference"] for t in summary["open_emergencies"]["items"]] == ["T-P1"]
    assert summary["alarms"]["count"] == 2 and summary["alarms"]["unacknowledged"] == 1
    # T-P1 missed its acknowledge deadline inside the shift; T-LATE was acknowledged late.
    breaches = {(b["reference"], b["kind"]) for b in summary["sla_breaches"]["items"]}
    assert breaches == {("T-P1", "acknowledge"), ("T-LATE", "acknowledge")}
    assert summary["cameras_offline"]["count"] == 1
    with pytest.raises(ShiftError, match=f"acknowledge handover {note['id']}"):
        await lifecycle.open_shift(siang.id, in_spv, now=end)
    with pytest.raises(ShiftError, match="not the writer"):
        await handover.acknowledge(note["id"], out_spv)
    with pytest.raises(ShiftError, match="next shift's supervisor"):
        await handover.acknowledge(note["id"], await load_actor("spv.malam"))
    with pytest.raises(ShiftError) as exc:
        await handover.acknowledge(note["id"], await load_actor("cc.siang.01"))
    assert exc.value.code == "forbidden"
    pending = await handover.handovers(pending_only=True)
    assert [h["id"] for h in pending] == [note["id"]]
    acked = await handover.acknowledge(note["id"], in_spv)
    assert acked["acknowledged_by"] == "spv.siang" and not acked["pending"]
    assert await handover.handovers(pending_only=True) == []
    with pytest.raises(ShiftError, match="already acknowledged"):
        await handover.acknowledge(note["id"], in_spv)
    await lifecycle.open_shift(siang.id, in_spv, now=end)
    kinds = [e["kind"] for e in await _events(orm, (
        "shift.opened", "shift.closed", "shift.handover_created",
        "shift.handover_acknowledged"))]
    assert kinds == ["shift.opened", "shift.handover_created", "shift.closed",
                     "shift.handover_acknowledged", "shift.opened"]


async def test_a_handover_written_ahead_is_acknowledged_only_after_the_close(orm: str) -> None:
    pagi = await _shift("pagi")
    start, end = pagi.window
    out_spv, in_spv = await load_actor("spv.pagi"), await load_actor("spv.siang")
    await lifecycle.open_shift(pagi.id, out_spv, now=start)
    draft = await handover.write_handover(pagi.id, out_spv, "draft", now=end - timedelta(hours=1))
    with pytest.raises(ShiftError, match="still open"):
        await handover.acknowledge(draft["id"], in_spv)
    revised = await handover.write_handover(pagi.id, out_spv, "", now=end - timedelta(minutes=30))
    assert revised["id"] == draft["id"] and revised["notes"] == "draft"
    closed = await lifecycle.close_shift(pagi.id, out_spv, "final", now=end)
    assert closed["handover"]["id"] == draft["id"] and closed["handover"]["notes"] == "final"
    assert closed["handover"]["summary"]["taken_at"] == end.isoformat()
    assert (await handover.acknowledge(draft["id"], in_spv))["acknowledged_by"] == "spv.siang"
    created = await _events(orm, ("shift.handover_created",))
    assert [e["payload"]["revised"] for e in created] == [False, True, True]


async def test_close_checks_out_whoever_is_still_in(orm: str) -> None:
    pagi = await _shift("pagi")
    start, end = pagi.window
    spv = await load_actor("spv.pagi")
    await presence.check_in(spv, pagi.id, now=start)
    await lifecycle.open_shift(pagi.id, spv, now=start)
    await lifecycle.close_shift(pagi.id, spv, now=end)
    with pytest.raises(ShiftError, match="not checked in"):
        await presence.check_out(spv, pagi.id, now=end)
    with pytest.raises(ShiftError, match="closed"):
        await presence.check_in(await load_actor("cc.pagi.01"), pagi.id, now=end)


async def test_swaps_keep_role_counts_and_are_refused_when_they_would_not(orm: str) -> None:
    pagi, siang = await _shift("pagi"), await _shift("siang")
    spv = await load_actor("supervisor")
    before = {s: {r: len(await _roster_names(s, r)) for r in ("call_center", "expert")}
              for s in (pagi.id, siang.id)}
    done = await roster.swap(pagi.id, "cc.pagi.02", "cc.siang.02", spv,
                             other_shift_id=siang.id, reason="family")
    assert done["approved_by"] == "supervisor" and done["other_shift_id"] == siang.id
    assert "cc.siang.02" in await _roster_names(pagi.id, "call_center")
    assert "cc.pagi.02" in await _roster_names(siang.id, "call_center")
    after = {s: {r: len(await _roster_names(s, r)) for r in ("call_center", "expert")}
             for s in (pagi.id, siang.id)}
    assert after == before
    # Replacement: someone not on the shift takes the place and the role.
    spare = await _spare()
    await roster.swap(pagi.id, "cc.pagi.03", spare, spv)
    from tortoise import connections

    rows = {r["username"]: r for r in await roster.roster(connections.get("default"), pagi.id)}
    assert rows[spare]["swapped_from"] == "cc.pagi.03" and "cc.pagi.03" not in rows
    refusals = [
        (roster.swap(pagi.id, "cc.pagi.04", "ahli.siang.01", spv, other_shift_id=siang.id),
         "does not hold the role call_center"),
        (roster.swap(pagi.id, "cc.pagi.04", "cc.pagi.05", spv), "already on pagi"),
        (roster.swap(pagi.id, "cc.siang.01", "cc.malam.07", spv), "not on pagi"),
        (roster.swap(pagi.id, "cc.pagi.04", "cc.pagi.04", spv), "themselves"),
        (roster.swap(pagi.id, "cc.pagi.04", "cc.malam.01", spv, other_shift_id=siang.id),
         "not on siang"),
    ]
    for attempt, message in refusals:
        with pytest.raises(ShiftError, match=message):
            await attempt
    start, _ = pagi.window
    await presence.check_in(spv, pagi.id, "cc.pagi.04", now=start)
    with pytest.raises(ShiftError, match="has checked in"):
        await roster.swap(pagi.id, "cc.pagi.04", "cc.malam.04", spv)
    swaps = await _events(orm, ("shift.swapped",))
    assert len(swaps) == 2 and swaps[0]["actor"] == "person:supervisor"


async def test_assign_and_plan(orm: str) -> None:
    pagi = await _shift("pagi")
    spv = await load_actor("supervisor")
    spare = await _spare()
    with pytest.raises(ShiftError, match="does not hold the role police"):
        await roster.assign(pagi.id, spare, "police", spv)
    done = await roster.assign(pagi.id, spare, None, spv)
    assert done["role"] == "call_center"
    with pytest.raises(ShiftError, match="already on"):
        await roster.assign(pagi.id, spare, None, spv)
    with pytest.raises(ShiftError, match="already on"):  # the seed put the demo's there
        await roster.assign(pagi.id, "operator", None, spv)
    with pytest.raises(ShiftError) as exc:
        await roster.assign(pagi.id, "nobody", None, spv)
    assert exc.value.code == "not_found"
    later = pagi.day + timedelta(days=7)
    planned = await roster.plan_shift("malam", later, spv)
    again = await roster.plan_shift("malam", later, spv)
    assert planned.id == again.id and planned.status == "planned"
    with pytest.raises(ShiftError, match="no shift template"):
        await roster.plan_shift("subuh", later, spv)
    actor = Actor(0, "ghost", frozenset({"supervisor"}))
    assert actor.label == "person:ghost"
