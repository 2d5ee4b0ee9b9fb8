"""One ticket: details, full timeline, notes, duplicate suggestions; the queue's keys."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from tui import i18n
from tui.client import ApiError
from tui.i18n import event_sentence, t
from tui.screens.ticket_base import TicketScreen
from tui.tickets import Ticket, code_of, local, name_of, sla_text
from tui.widgets.thumbnail import half_blocks


class TicketDetailScreen(TicketScreen):
    def __init__(self, ticket_id: int) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.history: list[dict[str, Any]] = []
        self.duplicates: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Label("", id="detail-title", classes="screen-title")
        with VerticalScroll(id="detail-body"):
            yield Static(id="detail-fields")
            yield Label(t("ticket.notes"), classes="section")
            yield Static(id="detail-notes")
            yield Label(t("ticket.timeline"), classes="section")
            yield Static(id="detail-timeline")
            yield Label(t("ticket.duplicates"), classes="section")
            yield Static(id="detail-duplicates")
            yield Label(t("ticket.camera"), classes="section")
            yield Static("-", id="detail-camera")
        yield from self.footer()

    def on_mount(self) -> None:
        self.papp.ticket_listeners.append(self._changed)
        self.papp.frame_listeners.append(self._frame)
        self.query_one("#detail-body").focus()
        self.render_ticket()
        self.load()

    def on_unmount(self) -> None:
        for listeners, fn in ((self.papp.ticket_listeners, self._changed),
                              (self.papp.frame_listeners, self._frame)):
            if fn in listeners:
                listeners.remove(fn)  # type: ignore[arg-type]

    def selected_ticket(self) -> Ticket | None:
        return self.papp.store.get(self.ticket_id)

    def _changed(self, changed: set[int]) -> None:
        if self.ticket_id in changed:
            self.render_ticket()

    def _frame(self, frame: dict[str, Any]) -> None:
        subject = frame.get("subject") or {}
        if subject.get("type") == "ticket" and str(subject.get("id")) == str(self.ticket_id):
            self.load()

    @work(exclusive=True, group="detail-load", exit_on_error=False)
    async def load(self) -> None:
        try:
            details = await self.papp.fetch_ticket_details(self.ticket_id)
        except ApiError as exc:
            self.notify(exc.message, severity="error")
            return
        self.papp.store_apply([details.ticket])
        self.notes, self.history, self.duplicates = (details.notes, details.history,
                                                     details.duplicates)
        self.render_ticket()
        self.show_nearest_camera(details.ticket)

    @work(exclusive=True, group="detail-camera", exit_on_error=False)
    async def show_nearest_camera(self, ticket: Ticket) -> None:
        """The closest camera's latest snapshot, so the operator can look before routing."""
        box = self.query_one("#detail-camera", Static)
        if ticket.get("lat") is None or ticket.get("lon") is None:
            return
        try:
            cameras = await self.papp.client.get("/api/cameras")
        except ApiError as exc:
            box.update(escape(t("unavailable", what=t("cameras.title"))
                              if exc.not_available else exc.detail))
            return
        found = nearest_camera(cameras, float(ticket["lat"]), float(ticket["lon"]))
        if found is None:
            return
        camera, metres = found
        title = escape(f"{camera.get('name')} · {metres:,.0f} m")
        box.update(title)
        try:
            jpeg = await self.papp.client.get(f"/api/cameras/{camera['id']}/snapshot.jpg")
        except ApiError as exc:
            box.update(f"{title}\n{escape(exc.message)}")
            return
        if isinstance(jpeg, bytes | bytearray):
            box.update(Group(Text.from_markup(title), half_blocks(bytes(jpeg), 32, 8)))

    def render_ticket(self) -> None:
        ticket = self.selected_ticket()
        if ticket is None:
            return
        now = self.papp.clock()
        reporter = ticket.get("reporter") or {}
        category = ticket.get("category") or {}
        self.query_one("#detail-title", Label).update(
            f"{ticket.get('reference')} · P{ticket.get('priority')} · "
            f"{t('status.' + str(ticket.get('status')))}"
            f" · SLA {sla_text(ticket, now)}")
        rows = [
            ("category", f"{category.get('name_en' if i18n.language() == 'en' else 'name', '-')}"
                         f" ({category.get('code', '-')})"),
            ("channel", t(f"channel.{ticket.get('channel')}")),
            ("where", f"{ticket.get('address') or '-'}, {name_of(ticket.get('district')) or '-'}"),
            ("department", f"{code_of(ticket.get('department')) or '-'}  (" + t(
                "detail.suggested", dept=code_of(ticket.get("suggested_department")) or "-")
             + ")"),
            ("reporter", t("detail.anonymous") if ticket.get("anonymous") else
             f"{reporter.get('name', '')} {reporter.get('phone', '')}".strip() or "-"),
            ("tags", ", ".join(ticket.get("tags") or []) or "-"),
            ("what", ticket.get("description", "")),
        ]
        self.query_one("#detail-fields", Static).update(
            "\n".join(f"[b]{t('detail.' + k):>10}[/b]  {escape(str(v))}" for k, v in rows))
        self.query_one("#detail-notes", Static).update("\n".join(
            escape(f"{_when(n.get('created_at'))} {(n.get('author') or {}).get('username', '')}"
                   f": {n.get('body', '')}") for n in self.notes) or "-")
        self.query_one("#detail-timeline", Static).update(
            "\n".join(timeline_line(step) for step in self.history) or "-")
        self.query_one("#detail-duplicates", Static).update(
            "\n".join(escape(f"{d.get('reference')} · {d.get('distance_m', '?')} m · "
                             f"{str(d.get('description', ''))[:44]}") for d in self.duplicates)
            or t("ticket.no_duplicates"))


def timeline_line(step: dict[str, Any]) -> str:
    """One history entry as a sentence in local time (the note's or reason's text after)."""
    said = step.get("note") or step.get("reason")
    return escape(f"{_when(step.get('at'))} {event_sentence(step, str(step.get('kind', '')))}"
                  + (f": {said}" if said and step.get("action") != "close_call" else ""))


def _when(value: str | None) -> str:
    return local(value, "%d/%m %H:%M")


def nearest_camera(cameras: list[dict[str, Any]], lat: float,
                   lon: float) -> tuple[dict[str, Any], float] | None:
    """The enabled camera closest to (lat, lon) and its distance in metres.

    An equirectangular approximation: exact enough across one city.
    """
    best: tuple[dict[str, Any], float] | None = None
    for cam in cameras:
        if cam.get("lat") is None or cam.get("lon") is None or cam.get("enabled") is False:
            continue
        dx = math.radians(cam["lon"] - lon) * math.cos(math.radians(lat))
        dy = math.radians(cam["lat"] - lat)
        metres = 6_371_000 * math.hypot(dx, dy)
        if best is None or metres < best[1]:
            best = (cam, metres)
    return best
