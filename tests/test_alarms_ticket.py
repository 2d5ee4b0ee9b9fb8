"""A panic alarm's P1 ticket: it has the panic button's category (routed to the
police by the rules) and follows the alarm through the tickets' own lifecycle,
in the alarm's transaction, with the usual ticket events."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.test_alarms_fixtures import MakeApi, alarm_api, device, enrol, fetch, wait_for

__all__ = ["alarm_api"]


async def _linked(api: Api, op: str, alarm_id: int) -> dict[str, Any]:
    async def linked() -> bool:
        _, alarm = await api.get(f"/api/alarms/{alarm_id}", token=op)
        return alarm["ticket_id"] is not None

    await wait_for(linked)
    _, alarm = await api.get(f"/api/alarms/{alarm_id}", token=op)
    _, ticket = await api.get(f"/api/tickets/{alarm['ticket_id']}", token=op)
    return ticket  # type: ignore[no-any-return]


async def _history(api: Api, op: str, ticket_id: int) -> list[dict[str, Any]]:
    _, body = await api.get(f"/api/tickets/{ticket_id}/history", token=op)
    return body["events"]  # type: ignore[no-any-return]


async def test_the_alarms_ticket_follows_it_to_in_progress_and_resolved(
        alarm_api: MakeApi, db_url: str) -> None:
    api = await alarm_api()
    _, secret = await enrol(api, "braga-30")
    alarm_id = (await device(api, "braga-30", secret).press()).alarm_id
    op = await api.login("operator")
    ticket = await _linked(api, op, alarm_id)
    assert ticket["category"]["code"] == "tombol-darurat" and ticket["priority"] == 1
    assert ticket["status"] == "new" and ticket["suggested_department"]["code"] == "polrestabes"

    status, _ = await api.post(f"/api/alarms/{alarm_id}/acknowledge", token=op)
    assert status == 200
    _, ticket = await api.get(f"/api/tickets/{ticket['id']}", token=op)
    assert ticket["status"] == "triaged"

    status, _ = await api.post(f"/api/alarms/{alarm_id}/dispatch",
                               {"unit": "Sabhara 3", "note": "ke Jl. Braga"}, token=op)
    assert status == 200
    _, ticket = await api.get(f"/api/tickets/{ticket['id']}", token=op)
    assert ticket["status"] == "in_progress" and ticket["department"]["code"] == "polrestabes"
    assert ticket["sla_state"] == "ok"  # dispatched: the emergency's second deadline is met
    steps = await _history(api, op, ticket["id"])
    assert [(s["kind"], s["action"], s["actor"]) for s in steps] == [
        ("ticket.created", "create", "system:alarms"),
        ("ticket.triaged", "triaged", "person:operator"),
        ("ticket.routed", "routed", "person:operator"),
        ("ticket.status_changed", "acknowledge", "person:operator"),
        ("ticket.status_changed", "start", "person:operator")]
    assert "Sabhara 3" in steps[-1]["note"] and "ke Jl. Braga" in steps[-1]["note"]

    status, _ = await api.post(f"/api/alarms/{alarm_id}/resolve",
                               {"outcome": "false_alarm", "note": "anak bermain tombol"},
                               token=op)
    assert status == 200
    _, ticket = await api.get(f"/api/tickets/{ticket['id']}", token=op)
    assert ticket["status"] == "resolved"
    steps = await _history(api, op, ticket["id"])
    assert steps[-1]["action"] == "resolve"
    assert steps[-1]["note"] == (f"Alarm #{alarm_id}: alarm palsu / false alarm. "
                                 "anak bermain tombol")
    # each ticket step was committed with the alarm step that caused it, before
    # that step's own event: the ticket's events sit between the alarm's
    rows = await fetch(db_url, "SELECT id, kind FROM events WHERE (subject_type = 'alarm'"
                       " AND subject_id = $1) OR (subject_type = 'ticket' AND subject_id = $2)"
                       " ORDER BY id", str(alarm_id), str(ticket["id"]))
    skip = ("alarm_contact.", "alarm.raised", "alarm.ticket_linked", "ticket.created")
    assert [r["kind"] for r in rows if not r["kind"].startswith(skip)] == [
        "ticket.triaged", "alarm.acknowledged",
        "ticket.routed", "ticket.status_changed", "ticket.status_changed", "alarm.dispatched",
        "ticket.status_changed", "alarm.false_alarm"]


async def test_acknowledged_then_resolved_without_dispatch(alarm_api: MakeApi) -> None:
    api = await alarm_api()
    _, secret = await enrol(api, "braga-31")
    alarm_id = (await device(api, "braga-31", secret).press()).alarm_id
    op = await api.login("operator")
    ticket = await _linked(api, op, alarm_id)
    await api.post(f"/api/alarms/{alarm_id}/acknowledge", token=op)
    status, _ = await api.post(f"/api/alarms/{alarm_id}/resolve",
                               {"outcome": "resolved", "note": "pemilik menelepon: aman"},
                               token=op)
    assert status == 200
    _, ticket = await api.get(f"/api/tickets/{ticket['id']}", token=op)
    assert ticket["status"] == "resolved"
    steps = await _history(api, op, ticket["id"])
    assert [s["action"] for s in steps] == ["create", "triaged", "routed", "acknowledge",
                                            "resolve"]
    assert steps[-1]["note"] == (f"Alarm #{alarm_id}: selesai ditangani / resolved. "
                                 "pemilik menelepon: aman")


async def test_a_ticket_an_operator_took_further_is_left_alone(alarm_api: MakeApi) -> None:
    api = await alarm_api()
    _, secret = await enrol(api, "braga-32")
    alarm_id = (await device(api, "braga-32", secret).press()).alarm_id
    op = await api.login("operator")
    ticket = await _linked(api, op, alarm_id)
    status, ticket = await api.post(f"/api/tickets/{ticket['id']}/route",
                                    {"version": ticket["version"], "department": "dinkes"},
                                    token=op)
    assert status == 200
    status, ticket = await api.post(f"/api/tickets/{ticket['id']}/reject",
                                    {"version": ticket["version"], "reason": "uji coba"},
                                    token=op)
    assert status == 200
    await api.post(f"/api/alarms/{alarm_id}/acknowledge", token=op)
    status, _ = await api.post(f"/api/alarms/{alarm_id}/dispatch", {"unit": "Sabhara 1"},
                               token=op)
    assert status == 200
    _, after = await api.get(f"/api/tickets/{ticket['id']}", token=op)
    assert after["status"] == "rejected" and after["version"] == ticket["version"]


async def test_a_ticket_linked_late_catches_up_with_the_alarm(orm: str) -> None:
    """An operator dispatched before the ticket existed (a crashed process; the
    repair timer links it): the new ticket goes straight to in_progress."""
    from server.alarms.lifecycle import link_tickets

    rows = await fetch(orm, "INSERT INTO panic_alarms (device_id, idempotency_key, status,"
                       " lat, lon, acknowledged_at, dispatched_at, dispatch_unit)"
                       " SELECT id, 'late-1', 'dispatched', lat, lon, now(), now(), 'Sabhara 9'"
                       " FROM devices WHERE code = 'demo-braga' RETURNING id")
    alarm_id = int(rows[0]["id"])
    [alarm] = await link_tickets([alarm_id], "system:alarms")
    rows = await fetch(orm, "SELECT t.status, t.category_id IS NOT NULL AS has_category,"
                       " d.code FROM tickets t JOIN departments d ON d.id = t.department_id"
                       " WHERE t.id = $1", alarm["ticket_id"])
    assert [tuple(r) for r in rows] == [("in_progress", True, "polrestabes")]


async def test_the_panic_category_is_the_panic_buttons_own(api: Api) -> None:
    op = api.as_user(await api.login("operator"))
    s, t = await op.post("/api/tickets", {"channel": "web", "description": "tombol",
                                          "category": "tombol-darurat", "district": "regol"})
    assert s == 400 and set(t["fields"]) == {"category"}
    s, services = await api.get("/open311/v2/services.json")
    assert s == 200 and "tombol-darurat" not in [x["service_code"] for x in services]
    s, cats = await op.get("/api/categories")
    assert {"code": "tombol-darurat", "channel": "panic"}.items() <= next(
        c for c in cats if c["code"] == "tombol-darurat").items()
    s, page = await api.get("/lapor")
    assert s == 200 and "tombol-darurat" not in page
