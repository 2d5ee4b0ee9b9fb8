"""The shift API: who may do what, validation, and the understaffed warning reaching
every console over the event stream."""

from __future__ import annotations

from datetime import time

from server.shifts.clock import slot_for, utcnow
from tests.conftest import Api, next_event

TEMPLATES = [("pagi", time(7), time(15)), ("siang", time(15), time(23)),
             ("malam", time(23), time(7))]


async def _current_shift(api: Api, spv: str) -> int:
    code, day = slot_for(utcnow(), TEMPLATES)
    status, body = await api.post("/api/shifts", {"template": code, "day": day.isoformat()},
                                  token=spv)
    assert status == 201, body
    return int(body["id"])


async def test_operators_read_and_check_in_supervisors_change(api: Api) -> None:
    op = await api.login("operator")
    spv = await api.login("supervisor")
    shift_id = await _current_shift(api, spv)
    for path, body in [(f"/api/shifts/{shift_id}/open", {}),
                       (f"/api/shifts/{shift_id}/close", {"notes": "x"}),
                       (f"/api/shifts/{shift_id}/assign", {"person": "operator"}),
                       (f"/api/shifts/{shift_id}/swap", {"out": "a", "in": "b"}),
                       (f"/api/shifts/{shift_id}/handover", {}),
                       ("/api/shifts", {"template": "pagi", "day": "2026-11-28"}),
                       ("/api/handovers/1/acknowledge", {})]:
        status, err = await api.post(path, body, token=op)
        assert status == 403 and err["error"] == "forbidden", (path, err)
    status, _ = await api.get("/api/shifts/current")
    assert status == 401
    # The seed rosters the demo operator on every shift; a supervisor adds another.
    status, body = await api.post(f"/api/shifts/{shift_id}/assign", {"person": "operator"},
                                  token=spv)
    assert status == 409 and "already on" in body["message"]
    status, body = await api.post("/api/people", {
        "username": "cc.cadangan", "full_name": "Operator Cadangan", "roles": ["call_center"],
        "password": "Kuda-Lari-Cepat-42!"}, token=await api.login("admin"))
    assert status == 201, body
    status, body = await api.post(f"/api/shifts/{shift_id}/assign", {"person": "cc.cadangan"},
                                  token=spv)
    assert status == 201 and body["role"] == "call_center"
    status, body = await api.post(f"/api/shifts/{shift_id}/checkin", {}, token=op)
    assert status == 200 and body["person"] == "operator", body
    status, body = await api.post(f"/api/shifts/{shift_id}/checkin", {"person": "cc.pagi.01"},
                                  token=op)
    assert status == 403
    status, body = await api.post(f"/api/shifts/{shift_id}/checkin", {}, token=op)
    assert status == 409 and "already checked in" in body["message"]
    status, view = await api.get("/api/shifts/current", token=op)
    assert status == 200 and view["id"] == shift_id and view["me"]["username"] == "operator"
    status, body = await api.post(f"/api/shifts/{shift_id}/checkout", {}, token=op)
    assert status == 200


async def test_inputs_are_validated(api: Api) -> None:
    spv = await api.login("supervisor")
    shift_id = await _current_shift(api, spv)
    cases = [
        (f"/api/shifts/{shift_id}/assign", {"person": "operator", "role": "chef"}, 400, "role"),
        (f"/api/shifts/{shift_id}/assign", {}, 400, "person"),
        (f"/api/shifts/{shift_id}/swap", {"out": 7, "in": "b"}, 400, "out"),
        (f"/api/shifts/{shift_id}/swap", {"out": "a", "in": "b", "other_shift": "x"}, 400,
         "other_shift"),
        (f"/api/shifts/{shift_id}/close", {"notes": "x" * 5001}, 400, "notes"),
        ("/api/shifts", {"template": "pagi", "day": "28-11-2026"}, 400, "day"),
        ("/api/shifts", {"template": "subuh", "day": "2026-11-28"}, 404, "template"),
        ("/api/shifts/abc/open", {}, 400, "shift_id"),
        ("/api/shifts/999999/open", {}, 404, "shift"),
        (f"/api/shifts/{shift_id}/assign", {"person": "nobody"}, 404, "person"),
    ]
    for path, body, want, field in cases:
        status, err = await api.post(path, body, token=spv)
        assert status == want, (path, body, err)
        assert field in err.get("fields", {}), (path, err)
    status, err = await api.get("/api/shifts?day=yesterday", token=spv)
    assert status == 400
    status, err = await api.get("/api/handovers?pending=maybe", token=spv)
    assert status == 400


async def test_understaffed_open_shift_reaches_every_console(api: Api) -> None:
    spv = await api.login("supervisor")
    op = await api.login("operator")
    shift_id = await _current_shift(api, spv)
    ws = await api.ws(token=op)
    try:
        status, body = await api.post(f"/api/shifts/{shift_id}/open", {}, token=spv)
        assert status == 200, body
        opened = await next_event(ws, "shift.opened")
        warning = await next_event(ws, "shift.understaffed")
        assert opened["subject"]["id"] == warning["subject"]["id"] == str(shift_id)
        assert warning["payload"]["shortfall"]["supervisor"] == 1
    finally:
        await ws.close()
    status, view = await api.get("/api/shifts/current", token=op)
    assert view["understaffed"] is True and view["shortfall"]["supervisor"] == 1
    status, days = await api.get(f"/api/shifts?day={view['day']}", token=op)
    assert status == 200 and shift_id in [s["id"] for s in days]
    status, closed = await api.post(f"/api/shifts/{shift_id}/close", {"notes": "aman"},
                                    token=spv)
    assert status == 200 and closed["handover"]["notes"] == "aman"
    status, pending = await api.get("/api/handovers?pending=true", token=op)
    assert [h["id"] for h in pending] == [closed["handover_id"]]
    status, _ = await api.post(f"/api/shifts/{shift_id}/close", {}, token=spv)
    assert status == 409
