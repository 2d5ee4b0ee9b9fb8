"""Snapshot tests of the main console screens at 80x24 and 200x50 (pytest-textual-snapshot).

A live server cannot give a steady picture (ticket ages, SLA countdowns and
references change every run), so these feed fixed tickets and a fixed clock
through the app's data edges (`fetch_open_tickets`, `fetch_ticket_details`, `fetch_alarm`)
and never start the event stream. Everything the Pilot tests exercise against
the real server is the same code from those edges inward.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tui.app import PantauApp, TicketDetails
from tui.client import StreamState, StreamStatus
from tui.tickets import Ticket

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SIZE = (80, 24)

ROWS = [
    # id, priority, status, category (code, id name, en name), dept, district, channel,
    # created minutes ago, resolve due in minutes, sla_state
    (1, 1, "new", ("kebakaran", "Kebakaran", "Fire"), None, "Coblong", "call112", 4, 26, "ok"),
    (2, 1, "routed", ("kecelakaan", "Kecelakaan lalu lintas", "Traffic accident"),
     "polrestabes", "Andir", "call112", 50, -20, "breached"),
    (3, 2, "triaged", ("banjir", "Banjir / genangan", "Flooding"), None, "Regol", "open311",
     180, 40, "due_soon"),
    (4, 2, "acknowledged", ("pohon-tumbang", "Pohon tumbang", "Fallen tree"), "dpkp",
     "Sukajadi", "web", 300, 600, "ok"),
    (5, 3, "new", ("drainase", "Saluran air tersumbat", "Blocked drainage"), None, "Coblong",
     "open311", 1440, 4000, "ok"),
    (6, 3, "in_progress", ("jalan-rusak", "Jalan rusak / berlubang", "Damaged road"),
     "dsdabm", "Lengkong", "open311", 4000, -300, "breached"),
    (7, 3, "routed", ("sampah", "Sampah menumpuk", "Uncollected waste"), "dlh", "Cicendo",
     "walk_in", 2000, 5000, "ok"),
    (8, 4, "new", ("lampu-jalan", "Penerangan jalan mati", "Street light out"), None,
     "Coblong", "cctv", 90, 9000, "ok"),
    (9, 4, "triaged", ("parkir-liar", "Parkir liar", "Illegal parking"), None,
     "Sumur Bandung", "web", 60, 10000, "ok"),
]
SUGGESTED = {"kebakaran": "diskar", "banjir": "dsdabm", "drainase": "dsdabm",
             "lampu-jalan": "dishub", "parkir-liar": "dishub"}
DEPARTMENTS = [("diskar", "Dinas Kebakaran"), ("dishub", "Dinas Perhubungan"),
               ("dlh", "Dinas Lingkungan Hidup"), ("dpkp", "Dinas Perumahan dan Pertamanan"),
               ("dsdabm", "Dinas Sumber Daya Air dan Bina Marga"),
               ("polrestabes", "Polrestabes Bandung")]


def _iso(minutes_from_now: float) -> str:
    return (NOW + timedelta(minutes=minutes_from_now)).isoformat()


def fixed_tickets() -> list[Ticket]:
    out = []
    for (ident, prio, status, (code, name, name_en), dept, district, channel, age, due,
         sla) in ROWS:
        suggested = SUGGESTED.get(code)
        out.append({
            "id": ident, "reference": f"BDG-2611-{ident:04d}", "channel": channel,
            "category": {"code": code, "name": name, "name_en": name_en},
            "priority": prio, "status": status, "address": f"Jl. Contoh No. {ident}",
            "district": {"code": district.lower().replace(" ", "-"), "name": district},
            "lat": None, "lon": None,
            "reporter": {"name": "Warga", "phone": "0812000000", "email": ""},
            "anonymous": False, "description": f"{name_en} reported near Jl. Contoh {ident}",
            "department": {"code": dept, "name": dept} if dept else None,
            "suggested_department": {"code": suggested, "name": suggested} if suggested
            else None,
            "tags": [], "flagged": False, "close_reason": "",
            "ack_due_at": _iso(due / 4), "resolve_due_at": _iso(due), "sla_state": sla,
            "merged_into": None, "version": 1, "created_at": _iso(-age),
            "updated_at": _iso(-age),
        })
    return out


ALARM = {"id": 7, "status": "raised", "device": "braga-10", "owner_name": "Ibu Sari",
         "owner_kind": "citizen", "address": "Jl. Braga No. 10", "district_id": 3,
         "lat": -6.9175, "lon": 107.6093, "raised_at": _iso(-1), "escalation_level": 0,
         "ticket_id": 1, "ticket_reference": "BDG-2611-0001",
         "nearest_cameras": [{"code": "braga", "name": "Braga", "distance_m": 35},
                             {"code": "asia-afrika", "name": "Asia Afrika", "distance_m": 410}]}
ALARM_DETAIL = {
    **ALARM,
    "timeline": [{"kind": "alarm.raised", "at": _iso(-1), "actor": "device:braga-10",
                  "address": "Jl. Braga No. 10"}],
    "notifications": [
        {"id": 1, "contact": "Budi", "channel": "whatsapp", "address": "+6281234567890",
         "state": "not_delivered", "reason": "no gateway configured", "attempts": 1},
        {"id": 2, "contact": "Sari", "channel": "sms", "address": "081298765432",
         "state": "sent", "reason": None, "attempts": 1}],
}


class FixedApp(PantauApp):
    """The console with fixed data at its data edges, a fixed clock, no stream."""

    def __init__(self, alarms: list[dict[str, Any]] | None = None,
                 language: str = "en") -> None:
        super().__init__("http://127.0.0.1:9", language=language, clock=lambda: NOW)
        self.fixed_alarms = alarms or []

    def begin(self) -> None:
        self.person = {"username": "operator", "roles": ["call_center"]}
        self.start_session()

    def connect_stream(self) -> None:  # type: ignore[override]
        self.stream_status = StreamStatus(StreamState.LIVE, 1000)

    def load_reference(self) -> None:  # type: ignore[override]
        self.reference = {"departments": [{"code": c, "name": n} for c, n in DEPARTMENTS],
                          "districts": [], "categories": []}

    def load_alarms(self) -> None:  # type: ignore[override]
        self.alarms_available = True
        for alarm in self.fixed_alarms:
            self.apply_alarm(alarm)

    async def fetch_open_tickets(self) -> AsyncIterator[tuple[list[Ticket], int]]:
        tickets = fixed_tickets()
        yield tickets, len(tickets)

    async def fetch_alarm(self, alarm_id: int) -> dict[str, Any]:
        return dict(ALARM_DETAIL)

    async def fetch_ticket_details(self, ticket_id: int) -> TicketDetails:
        ticket = next(tk for tk in fixed_tickets() if tk["id"] == ticket_id)
        history = [
            {"id": 10, "kind": "ticket.created", "actor": "person:operator", "at": _iso(-4),
             "changes": {}, "action": "created", "channel": "call112", "status": "new",
             "priority": 1, "department": None},
            {"id": 12, "kind": "ticket.routed", "actor": "person:operator", "at": _iso(-4),
             "action": "route", "changes": {"status": ["new", "routed"], "department": [
                 None, {"code": "polrestabes", "name": "Polrestabes Bandung"}]},
             "channel": "call112", "status": "routed", "priority": 1,
             "department": {"code": "polrestabes", "name": "Polrestabes Bandung"}},
            {"id": 11, "kind": "ticket.note_added", "actor": "person:operator",
             "at": _iso(-3), "note": "caller sees smoke from the second floor"},
        ]
        notes = [{"body": "caller sees smoke from the second floor", "created_at": _iso(-3),
                  "author": {"username": "operator"}}]
        duplicates = [{"id": 12, "reference": "BDG-2611-0012", "distance_m": 80.5,
                       "description": "Asap tebal dari ruko", "status": "new"}]
        return TicketDetails(ticket, notes, history, duplicates)


async def settle(pilot: Pilot[None]) -> None:
    app = pilot.app
    for _ in range(100):
        if isinstance(app, PantauApp) and app.store.loaded:
            break
        await pilot.pause(0.02)
    await pilot.app.workers.wait_for_complete()
    for box in app.screen.query(Input):
        box.cursor_blink = False
    await pilot.pause()


@pytest.fixture(autouse=True)
def no_saved_state(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(tmp_path))


def test_queue(snap_compare: Any) -> None:
    assert snap_compare(FixedApp(), terminal_size=SIZE, run_before=settle)


def test_queue_at_200x50_shows_references_and_descriptions(snap_compare: Any) -> None:
    assert snap_compare(FixedApp(), terminal_size=(200, 50), run_before=settle)


def test_queue_in_indonesian(snap_compare: Any) -> None:
    assert snap_compare(FixedApp(language="id"), terminal_size=SIZE, run_before=settle)


def test_queue_filtered(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("slash", *"d:coblong")
        await settle(pilot)

    assert snap_compare(FixedApp(), terminal_size=SIZE, run_before=run_before)


def test_queue_keeps_a_ticket_that_left_the_filter_under_the_cursor(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("slash", *"s:new", "enter")
        await settle(pilot)
        app = pilot.app
        assert isinstance(app, PantauApp)
        fire = next(tk for tk in fixed_tickets() if tk["id"] == 1)
        app.store_apply([{**fire, "status": "triaged", "version": 2}])  # as its event would
        await settle(pilot)

    assert snap_compare(FixedApp(), terminal_size=SIZE, run_before=run_before)


def test_route_picker_preselects_the_suggestion(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("j", "r")  # the fire call: suggested diskar
        await settle(pilot)

    assert snap_compare(FixedApp(), terminal_size=SIZE, run_before=run_before)


def test_route_picker_without_a_suggestion_says_to_pick_one(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("r", "enter")  # the accident: no suggestion, enter picks nothing
        await settle(pilot)

    assert snap_compare(FixedApp(), terminal_size=SIZE, run_before=run_before)


def test_ticket_detail(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(FixedApp(), terminal_size=SIZE, run_before=run_before)


def test_alarm_banner_and_alarms_screen(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)

    assert snap_compare(FixedApp([ALARM]), terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(FixedApp(), terminal_size=SIZE, run_before=run_before)


def test_help_scrolled_to_its_end(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f1", "G")
        await settle(pilot)

    assert snap_compare(FixedApp(), terminal_size=SIZE, run_before=run_before)


def test_call_form(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)

    assert snap_compare(FixedApp(), terminal_size=SIZE, run_before=run_before)
