"""The console application: session, event stream, shared state, navigation.

Screens own their widgets; the app owns what several screens share: the API
client, the ticket store fed by the event stream, open alarms (the banner is on
every screen), and reference data (departments, categories, districts).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from tui import config, i18n
from tui.client import ApiClient, ApiError, EventStream, StreamState, StreamStatus
from tui.commands import PantauCommands
from tui.i18n import t
from tui.ops import TicketOps
from tui.settings import ConsoleSettings
from tui.store import TicketStore
from tui.tickets import Clock, Ticket, use_time_zone, utcnow

TicketListener = Callable[[set[int]], None]


@dataclass
class TicketDetails:
    ticket: Ticket
    notes: list[dict[str, Any]]
    history: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]


FrameListener = Callable[[dict[str, Any]], None]
COALESCE_SECONDS = 0.08
RESYNC_CAP = 20_000  # open tickets read again after a resync (the queue's own cap)
OPEN_ALARM_STATES = ("raised", "acknowledged", "dispatched")


class PantauApp(App[None]):
    # Absolute, so subclasses defined elsewhere (tests, bench) find it too.
    CSS_PATH = Path(__file__).with_name("console.tcss")
    TITLE = "Pantau"
    # Only our commands: Textual's own (theme, screenshot, quit) speak English only.
    COMMANDS = {PantauCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1,question_mark", "help", "help", id="app.help"),
        Binding("f2", "go('queue')", "queue", id="app.queue"),
        Binding("f3", "go('call')", "112", id="app.call"),
        Binding("f4", "go('alarms')", "alarms", id="app.alarms"),
        Binding("f5", "go('cameras')", "cameras", id="app.cameras"),
        Binding("colon", "command_palette", "commands", id="app.palette"),
    ]

    stream_status: reactive[StreamStatus] = reactive(StreamStatus(StreamState.CONNECTING))
    unacked_alarms: reactive[tuple[int, str]] = reactive((0, ""))
    # Shown on every screen while the open shift is below its minimums (or a
    # handover waits for this supervisor), until it is fixed.
    staffing_warning: reactive[str] = reactive("")
    # Bumped when the reference lists (departments, categories, districts) arrive:
    # the queue sizes its columns to their longest names.
    reference_loaded: reactive[int] = reactive(0)

    def __init__(self, server_url: str, *, language: str | None = None,
                 clock: Clock = utcnow, settings: ConsoleSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or ConsoleSettings()
        use_time_zone(self.settings.tz)
        self.server_url = server_url.rstrip("/")
        self.server_label = self.server_url.split("://", 1)[-1]
        self.forced_language = language
        i18n.set_language(language)
        self.clock = clock
        self.client = ApiClient(self.server_url)
        self.person: dict[str, Any] = {}
        self.store = TicketStore()
        self.alarms: dict[int, dict[str, Any]] = {}
        self.alarms_available: bool | None = None
        self.reference: dict[str, list[dict[str, Any]]] = {}
        self.stream: EventStream | None = None
        self.ticket_listeners: list[TicketListener] = []
        self.frame_listeners: list[FrameListener] = []
        self._pending: dict[int, Ticket] = {}
        self._flush_scheduled = False
        # While a resync reads the queue again: tickets events touched meanwhile.
        self._resync_touched: set[int] | None = None
        self.ops = TicketOps(self)

    # -- session --------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.set_keymap(config.load_keymap(self.settings.config_dir))
        self.begin()

    def begin(self) -> None:
        """Resume the saved session for this server, or ask to sign in."""
        stored = config.load_token(self.server_url, self.settings.config_dir)
        if stored is None:
            self.show_login()
            return
        self.client.token = stored.token
        self.person = {"username": stored.username, "roles": []}
        self.resume_session()

    def show_login(self, message: str = "") -> None:
        from tui.screens.login import LoginScreen

        self.push_screen(LoginScreen(message))

    @work(exclusive=True, exit_on_error=False, group="session")
    async def resume_session(self) -> None:
        """A saved token: check it; if the server is down, start anyway and keep retrying."""
        try:
            await self.refresh_person()
        except ApiError as exc:
            if exc.status in (401, 403):
                config.clear_token(self.settings.config_dir)
                self.show_login(exc.message)
                return
        self.start_session()

    async def refresh_person(self) -> None:
        """Who I am, and my language as the server keeps it (read on every start, so a
        language changed here or on another console holds from the first screen)."""
        me = await self.client.me()
        self.person = {**self.person, **me, "roles": list(me.get("roles", []))}
        if not self.forced_language and me.get("language"):
            self.apply_language(str(me["language"]))

    def apply_language(self, language: str) -> None:
        """Show the console in `language`; screens already drawn are redrawn from the
        queue, so no screen mixes the old language with the new one."""
        before = i18n.language()
        if i18n.set_language(language) == before or len(self.screen_stack) <= 1:
            return
        from tui.screens.queue import QueueScreen

        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(QueueScreen())

    @work(exclusive=True, exit_on_error=False, group="language")
    async def change_language(self, language: str) -> None:
        """The palette's `language: …`: kept on the server (PATCH /api/me), so the next
        start, wall-term and the department page follow; this run follows at once."""
        try:
            me = await self.client.patch("/api/me", {"language": language})
        except ApiError as exc:
            self.notify(exc.message, severity="error")
            return
        self.forced_language = None  # the person chose: from now on the server's word
        self.apply_language(str(me.get("language") or language))
        self.notify(t("language.changed"))

    def signed_in(self, body: dict[str, Any]) -> None:
        """Called by the login screen with the login answer."""
        self.person = dict(body.get("person") or {})
        config.save_token(config.StoredToken(self.server_url, body["token"],
                                             str(body.get("expires_at", "")),
                                             str(self.person.get("username", ""))),
                           self.settings.config_dir)
        if not self.forced_language:
            i18n.set_language(self.person.get("language"))
        self.start_session()

    def start_session(self) -> None:
        from tui.screens.queue import QueueScreen

        if len(self.screen_stack) > 1:
            self.switch_screen(QueueScreen())
        else:
            self.push_screen(QueueScreen())
        self.connect_stream()
        self.load_reference()
        self.load_alarms()
        self.load_staffing()

    def has_role(self, *roles: str) -> bool:
        return bool(set(self.person.get("roles") or []) & set(roles))

    # -- the event stream -----------------------------------------------------------------
    @work(exclusive=True, exit_on_error=False, group="stream")
    async def connect_stream(self) -> None:
        self.stream = EventStream(self.client, self.on_frame, self._on_stream_status,
                                  on_resync=self.on_resync)
        await self.stream.run()

    def on_resync(self, frame: dict[str, Any]) -> None:
        """We were away too long for the server to replay what happened: read the
        alarms, the shift and the open queue again."""
        self.load_alarms()
        self.load_staffing()
        self.resync_tickets()

    @work(exclusive=True, exit_on_error=False, group="resync")
    async def resync_tickets(self) -> None:
        if not self.store.loaded:
            return  # the queue's first load is still to come, and reads it fresh
        self._resync_touched = set()
        listed: set[int] = set()
        try:
            async for items, _total in self.client.open_ticket_pages(cap=RESYNC_CAP):
                listed.update(int(tk["id"]) for tk in items)
                self.store_apply(items)
        except ApiError as exc:
            self.notify(exc.detail, severity="error")
            return
        finally:
            touched, self._resync_touched = self._resync_touched, None
        if len(listed) < RESYNC_CAP:  # the whole queue was read: drop what left it
            gone = self.store.drop_open(listed | touched)
            if gone:
                for listener in list(self.ticket_listeners):
                    listener(set(gone))

    def _on_stream_status(self, status: StreamStatus) -> None:
        was_live = self.stream_status.state == StreamState.LIVE
        self.stream_status = status
        if status.state == StreamState.SIGNED_OUT:
            config.clear_token(self.settings.config_dir)
            self.show_login(t("conn.signed_out"))
        elif status.state == StreamState.LIVE and not was_live:
            self.on_reconnected()

    @work(exclusive=True, exit_on_error=False, group="reconnected")
    async def on_reconnected(self) -> None:
        """Catch up what the stream cannot replay: who I am, and the lists not yet loaded."""
        try:
            await self.refresh_person()
        except ApiError:
            return
        self.refresh_bindings()
        if not self.reference:
            self.load_reference()
        if self.alarms_available is None:
            self.load_alarms()

    def on_frame(self, frame: dict[str, Any]) -> None:
        kind = str(frame.get("kind", ""))
        payload = frame.get("payload") or {}
        if kind.startswith("ticket.") and isinstance(payload.get("ticket"), dict):
            ticket = payload["ticket"]
            held = self._pending.get(int(ticket["id"]))
            if held is None or int(held.get("version", 0)) <= int(ticket.get("version", 0)):
                self._pending[int(ticket["id"])] = ticket
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self.set_timer(COALESCE_SECONDS, self._flush_tickets)
        elif kind.startswith("alarm.") and isinstance(payload.get("alarm"), dict):
            self.apply_alarm(payload["alarm"])
            if kind in ("alarm.raised", "alarm.escalated"):
                self.bell()
        elif kind.startswith("shift."):
            self.load_staffing()
        for listener in list(self.frame_listeners):
            listener(frame)

    def _flush_tickets(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, {}
        if self._resync_touched is not None:
            self._resync_touched.update(pending)
        self.store_apply(pending.values())

    def store_apply(self, tickets: Any, *, force: bool = False) -> None:
        changed = {int(tk["id"]) for tk in tickets if self.store.apply(tk, force=force)}
        if changed:
            for listener in list(self.ticket_listeners):
                listener(changed)

    # -- alarms ---------------------------------------------------------------------------
    def apply_alarm(self, alarm: dict[str, Any]) -> None:
        alarm_id = int(alarm["id"])
        if alarm.get("status") in OPEN_ALARM_STATES:
            self.alarms[alarm_id] = alarm
        else:
            self.alarms.pop(alarm_id, None)
        raised = [a for a in self.alarms.values() if a.get("status") == "raised"]
        where = ", ".join(str(a.get("address") or a.get("device") or a["id"])
                          for a in raised[:2])
        self.unacked_alarms = (len(raised), where)

    @work(exclusive=True, exit_on_error=False, group="alarms")
    async def load_alarms(self) -> None:
        try:
            body = await self.client.get("/api/alarms")
        except ApiError as exc:
            if exc.not_available:
                self.alarms_available = False
            return
        self.alarms_available = True
        self.alarms.clear()
        items = body.get("items", body) if isinstance(body, dict) else body
        for alarm in items:
            self.apply_alarm(alarm)
        if self.unacked_alarms[0]:
            self.bell()

    # -- shift staffing -------------------------------------------------------------------
    @work(exclusive=True, exit_on_error=False, group="staffing")
    async def load_staffing(self) -> None:
        try:
            shift = await self.client.get("/api/shifts/current")
        except ApiError:
            return
        self.staffing_warning = staffing_warning(shift, self.has_role("supervisor", "admin"))

    # -- reference data -------------------------------------------------------------------
    @work(exclusive=True, exit_on_error=False, group="reference")
    async def load_reference(self) -> None:
        for name in ("departments", "categories", "districts"):
            try:
                body = await self.client.get(f"/api/{name}")
            except ApiError:
                continue
            items = body.get("items", body) if isinstance(body, dict) else body
            self.reference[name] = list(items)
        self.reference_loaded += 1

    async def fetch_open_tickets(self) -> AsyncIterator[tuple[list[Ticket], int]]:
        """The open queue by pages, read once the stream is up so no event falls between."""
        if self.stream is not None:
            await self.stream.connected_once.wait()
        async for page in self.client.open_ticket_pages():
            yield page

    async def fetch_alarm(self, alarm_id: int) -> dict[str, Any]:
        """One alarm with its timeline and its contact messages' delivery states."""
        body = await self.client.get(f"/api/alarms/{alarm_id}")
        return dict(body) if isinstance(body, dict) else {}

    async def fetch_ticket_details(self, ticket_id: int) -> TicketDetails:
        """One ticket with its notes, timeline (history) and duplicate candidates."""
        full = await self.client.ticket(ticket_id)
        notes = list(full.pop("notes", []) or [])
        for extra in ("co_reporters", "attributes", "duplicate_candidates"):
            full.pop(extra, None)
        history = await self.client.get(f"/api/tickets/{ticket_id}/history")
        dups = await self.client.get(f"/api/tickets/{ticket_id}/duplicates")
        return TicketDetails(full, notes, list(history.get("events", [])),
                             list(dups.get("items", [])))

    # -- navigation -----------------------------------------------------------------------
    def action_go(self, where: str) -> None:
        from tui.screens import SCREENS_BY_NAME

        if not self.person:
            return
        target = SCREENS_BY_NAME[where]
        while len(self.screen_stack) > 2 and not isinstance(self.screen, target):
            self.pop_screen()
        if not isinstance(self.screen, target):
            self.push_screen(target())

    def action_command_palette(self) -> None:
        """Textual's palette with its search prompt in the console's language."""
        from textual.command import CommandPalette

        # App[None] is an App[object] for is_open's purpose (Textual's own call).
        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(CommandPalette(id="--command-palette",
                                            placeholder=t("palette.placeholder")))

    def action_help(self) -> None:
        from tui.screens.modals import HelpModal

        screen = self.screen
        rows = []
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            # Only our own bindings (they all have ids); the widgets' arrow keys are
            # not what an operator needs to be told.
            if binding.id and binding.action not in seen and active.enabled:
                seen.add(binding.action)
                rows.append((self.get_key_display(binding), i18n.key_label(binding.description)))
        self.push_screen(HelpModal(str(screen.title or type(screen).__name__), rows))

    async def on_unmount(self) -> None:
        await self.client.close()


def staffing_warning(shift: dict[str, Any], supervisor: bool) -> str:
    """One line for the status bar: the open shift's shortfall, a pending handover."""
    parts = []
    if shift.get("status") == "open" and shift.get("understaffed"):
        short = shift.get("shortfall") or {}
        detail = ", ".join(f"{role} -{n}" for role, n in sorted(short.items()))
        parts.append(t("shift.understaffed_short", detail=detail or "?"))
    if supervisor and shift.get("incoming_handovers"):
        parts.append(t("shift.handover_pending"))
    return " · ".join(parts)
