"""Intake of a batch (group commit): every ticket gets exactly what a lone intake
would give it, a refused ticket stores nothing and does not hold up the rest, and
references stay dense."""

from __future__ import annotations

import asyncpg

from server.errors import ApiError
from server.tickets.intake import Intake, NewTicket, create_ticket, create_tickets

ALUN_ALUN = (-6.9218, 107.6070)


def _pothole(**over: object) -> NewTicket:
    fields: dict[str, object] = {"channel": "open311", "description": "Jalan berlubang",
                                 "category": "jalan-rusak", "lat": ALUN_ALUN[0],
                                 "lon": ALUN_ALUN[1], **over}
    return NewTicket(**fields)  # type: ignore[arg-type]


async def test_a_batch_is_what_lone_intakes_would_be(orm: str) -> None:
    earlier = await create_ticket(_pothole(), None, actor="open311")
    made = await create_tickets([
        Intake(_pothole(), None, "open311"),
        Intake(_pothole(category="no-such-thing"), None, "open311"),
        Intake(_pothole(lat=95.0), None, "open311"),
        Intake(NewTicket(channel="walk_in", description="Sampah menumpuk", category="sampah",
                         district="coblong", reporter_name="Ibu Sari"), None, "walk-in desk"),
        Intake(_pothole(anonymous=True, reporter_name="Hidden"), None, "open311"),
    ])
    first, unknown, off_map, walk_in, anonymous = made
    assert isinstance(unknown, ApiError) and unknown.status == 400
    assert "category" in unknown.body_json["fields"]
    assert isinstance(off_map, ApiError) and "lat" in off_map.body_json["fields"]
    assert isinstance(first, dict) and isinstance(walk_in, dict)
    assert isinstance(anonymous, dict)
    # dense references, in batch order, right after the lone intake's
    numbers = [int(t["reference"][-5:]) for t in (earlier, first, walk_in, anonymous)]
    assert numbers == list(range(numbers[0], numbers[0] + 4))
    # the same derivations as a lone intake: district, suggestion, due times
    for key in ("district", "suggested_department", "priority", "sla_state", "category"):
        assert first[key] == earlier[key], key
    assert walk_in["district"]["code"] == "coblong" and walk_in["reporter"]["name"] == "Ibu Sari"
    assert anonymous["reporter"] is None
    # duplicate candidates: the earlier ticket (not those in the same batch)
    assert first["duplicate_candidates"] == [earlier["reference"]]
    assert walk_in["duplicate_candidates"] == []

    conn = await asyncpg.connect(orm)
    try:
        stored = await conn.fetch("SELECT reference, reporter_name FROM tickets ORDER BY id")
        created = await conn.fetch(
            "SELECT subject_id, actor, payload->'duplicate_candidates' AS d FROM events"
            " WHERE kind = 'ticket.created' ORDER BY id")
    finally:
        await conn.close()
    new_refs = [t["reference"] for t in (earlier, first, walk_in, anonymous)]
    assert [r["reference"] for r in stored][-4:] == new_refs
    assert stored[-1]["reporter_name"] == ""  # anonymous: nothing of the reporter kept
    # one ticket.created per stored ticket, in order, with its actor
    ours = [e for e in created if int(e["subject_id"]) in
            {t["id"] for t in (earlier, first, walk_in, anonymous)}]
    assert [int(e["subject_id"]) for e in ours] == [
        t["id"] for t in (earlier, first, walk_in, anonymous)]
    assert [e["actor"] for e in ours] == ["open311", "open311", "walk-in desk", "open311"]


async def test_a_batch_of_refused_tickets_stores_nothing(orm: str) -> None:
    conn = await asyncpg.connect(orm)
    try:
        before = await conn.fetchval("SELECT count(*) FROM tickets")
        made = await create_tickets([Intake(_pothole(description=" "), None, "open311"),
                                     Intake(_pothole(district="atlantis"), None, "open311")])
        assert all(isinstance(m, ApiError) for m in made)
        assert await conn.fetchval("SELECT count(*) FROM tickets") == before
    finally:
        await conn.close()
