"""The command palette (`:` or ctrl+p): namespaced commands like "route: to DISHUB".

Everything here is also reachable by a key; the palette is for what has no key
of its own (routing straight to a named department, switching language) and for
operators who remember words better than keys.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui import supervisor

if TYPE_CHECKING:
    from tui.app import PantauApp

Command = tuple[str, Callable[[], Any], str]


class PantauCommands(Provider):
    def _commands(self) -> list[Command]:
        from tui.screens.ticket_base import TicketScreen

        app = cast("PantauApp", self.app)
        if not app.person:
            return []
        screen = self.screen
        out: list[Command] = [
            (f"go: {name}", partial(app.action_go, name), f"open the {name} screen")
            for name in ("queue", "call", "alarms", "cameras", "shift")
        ]
        if app.has_role("supervisor", "admin"):
            out += [(f"shift: {what}", partial(self._shift, f"{what}_shift"),
                     f"{what} the current shift (asks to confirm)") for what in ("open", "close")]
            out += [("shift: assign someone", partial(self._shift, "assign"),
                     "roster a person on the current shift (asks to confirm)"),
                    ("shift: swap two people", partial(self._shift, "swap"),
                     "replace a rostered person (asks to confirm)"),
                    ("shift: roster", partial(app.action_go, "shift"),
                     "who is on the current shift")]
            out.append(("wall: approve a pairing code", partial(supervisor.approve_wall, app),
                        "pair the wall display that shows a code to a monitor"))
            out += [(f"report: {kind}", partial(supervisor.show_report, app, kind),
                     f"the last complete {kind} report's summary")
                    for kind in supervisor.REPORT_KINDS]
        out += [(f"shift: check {d}", partial(self._shift, "check", f"check{d}"),
                 f"check yourself {d} of the current shift") for d in ("in", "out")]
        out += [
            ("language: English", partial(self._language, "en"), "switch the console to English"),
            ("language: Bahasa Indonesia", partial(self._language, "id"),
             "ganti bahasa konsol ke Bahasa Indonesia"),
        ]
        if isinstance(screen, TicketScreen) and screen.selected_ticket() is not None:
            # Bound to the ticket under the cursor when the palette opened (and named
            # in each entry), never to wherever the cursor is when one is chosen.
            ticket = screen.selected_ticket() or {}
            ticket_id = int(ticket["id"])
            ref = ticket.get("reference", "")
            for action in ("triage", "note", "merge", "close", "reject", "reopen"):
                if screen.check_action(action, ()):
                    out.append((f"ticket: {action}",
                                partial(getattr(screen, f"{action}_ticket"), ticket_id),
                                f"{action} {ref}"))
            if screen.check_action("priority", (1,)):
                out += [(f"priority: P{p}", partial(screen.prioritise_ticket, ticket_id, p),
                         f"{ref} → P{p}") for p in range(1, 5)]
            if screen.check_action("route", ()):
                for dept in app.reference.get("departments", []):
                    code = str(dept["code"])
                    run = partial(screen.run_op, ticket_id, "route",
                                  {"department": code}, f"→ {code}")
                    out.append((f"route: to {code} ({dept.get('name', '')})", run,
                                f"route {ref} to {dept.get('name', code)}"))
        return out

    def _shift(self, action: str, *args: str) -> None:
        """Shift commands run on the shift screen, so the operator sees what they change."""
        from tui.screens.shift import ShiftScreen

        app = cast("PantauApp", self.app)
        app.action_go("shift")
        screen = app.screen
        if isinstance(screen, ShiftScreen):
            screen.call_after_refresh(screen.run_shift_action, action, *args)

    def _language(self, lang: str) -> None:
        cast("PantauApp", self.app).change_language(lang)

    async def discover(self) -> Hits:
        for name, run, help_text in self._commands():
            yield DiscoveryHit(name, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, run, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), run, help=help_text)
