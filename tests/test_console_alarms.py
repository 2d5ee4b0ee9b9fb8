"""The alarm screen against the real server and a real signed press: its P1 ticket
followed live, its nearest cameras, ages that tick every second, and a plain warning
to call the contacts whenever the system did not message them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from server.alarms.contacts import OutgoingMessage
from tests.test_alarms_fixtures import MakeApi, alarm_api, device, enrol
from tests.test_console_app import SIZE, queue_ready, signed_in
from tests.test_console_support import wait_for
from tui.app import PantauApp
from tui.screens.alarms import AlarmsScreen
from tui.screens.ticket import TicketDetailScreen

__all__ = ["alarm_api"]

CONTACTS = [{"name": "Budi", "phone": "+6281234567890", "channel": "whatsapp"},
            {"name": "Sari", "phone": "081298765432", "channel": "sms"}]


class AcceptingGateway:
    """A gateway that takes every message (the shipped sender logs them and reports
    them not delivered, since no gateway is configured)."""

    name = "accepting"

    def __init__(self) -> None:
        self.taken: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> None:
        self.taken.append(message)


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(home))
    return home


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def alarm_on_screen(app: PantauApp, pilot: Any, api: Any, code: str,
                          secret: str) -> tuple[AlarmsScreen, int]:
    await queue_ready(app, pilot)
    alarm_id = (await device(api, code, secret).press()).alarm_id
    await pilot.press("f4")
    await wait_for(lambda: isinstance(app.screen, AlarmsScreen)
                   and app.screen.selected_id() == alarm_id, pilot=pilot)
    screen = app.screen
    assert isinstance(screen, AlarmsScreen)
    return screen, alarm_id


async def test_the_alarm_screen_shows_ticket_cameras_ticking_age_and_says_to_call_contacts(
        alarm_api: MakeApi) -> None:
    api = await alarm_api()  # the shipped sender: no gateway, nobody gets a message
    _, secret = await enrol(api, "console-alarm-1", contacts=CONTACTS)
    token = await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        screen, alarm_id = await alarm_on_screen(app, pilot, api, "console-alarm-1", secret)
        # Its P1 ticket, by reference and status, once the server linked it.
        await wait_for(lambda: (app.alarms.get(alarm_id) or {}).get("ticket_reference"),
                       pilot=pilot)
        alarm = app.alarms[alarm_id]
        ref = alarm["ticket_reference"]
        await wait_for(lambda: f"Ticket {ref} · P1 · new" in text_of(screen, "#alarm-detail"),
                       pilot=pilot)
        # Its nearest cameras, nearest first.
        cams = alarm["nearest_cameras"]
        assert cams
        detail = text_of(screen, "#alarm-detail")
        assert f"{cams[0]['name']} {cams[0]['distance_m']} m" in detail
        # Nobody was told by the system: a warning, with the numbers to call.
        contacts = screen.query_one("#alarm-contacts", Static)
        await wait_for(lambda: contacts.has_class("-warn"), pilot=pilot)
        shown = text_of(screen, "#alarm-contacts")
        assert "2 of 2 contacts NOT told by the system: call them yourself" in shown
        assert "Budi +6281234567890" in shown and "Sari 081298765432" in shown
        assert "no gateway" in shown and "sent" not in shown.replace("NOT told", "")
        # The age ticks every second without anything else happening.
        table = screen.query_one(DataTable)
        first = str(table.get_cell(str(alarm_id), "age"))
        await wait_for(lambda: str(table.get_cell(str(alarm_id), "age")) != first,
                       timeout=3, pilot=pilot)
        # The ticket follows the alarm, live: dispatched -> in progress.
        await pilot.press("a")
        await wait_for(lambda: app.alarms[alarm_id]["status"] == "acknowledged", pilot=pilot)
        await pilot.press("d", *"Polsek Sumur Bandung", "enter", *"on the way", "enter")
        await wait_for(lambda: f"Ticket {ref} · P1 · in progress"
                       in text_of(screen, "#alarm-detail"), pilot=pilot)
        # o opens that ticket.
        await pilot.press("o")
        await wait_for(lambda: isinstance(app.screen, TicketDetailScreen)
                       and app.screen.ticket_id == alarm["ticket_id"], pilot=pilot)
    _, body = await api.get(f"/api/alarms/{alarm_id}", token=token)
    assert {n["state"] for n in body["notifications"]} == {"not_delivered"}


async def test_no_warning_when_the_gateway_took_every_message(alarm_api: MakeApi) -> None:
    gateway = AcceptingGateway()
    api = await alarm_api(sender=gateway)
    _, secret = await enrol(api, "console-alarm-2", contacts=CONTACTS)
    await signed_in(api, "operator")
    app = PantauApp(api.base, language="id")
    async with app.run_test(size=SIZE) as pilot:
        screen, _ = await alarm_on_screen(app, pilot, api, "console-alarm-2", secret)
        await wait_for(lambda: text_of(screen, "#alarm-contacts").count("terkirim") == 2,
                       pilot=pilot)
        assert not screen.query_one("#alarm-contacts").has_class("-warn")
        assert "TIDAK" not in text_of(screen, "#alarm-contacts")
    assert sorted(m.contact_name for m in gateway.taken) == ["Budi", "Sari"]
