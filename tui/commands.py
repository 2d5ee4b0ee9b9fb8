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
from tui.i18n import t

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
            (t("palette.go", screen=t(f"screen.{name}")), partial(app.action_go, name),
             t("palette.go.help", screen=t(f"screen.{name}")))
            for name in ("queue", "call", "alarms", "cameras", "shift")
        ]
        if app.has_role("supervisor", "admin"):
            out += [(t(f"palette.shift_{what}"), partial(self._shift, f"{what}_shift"),
                     t(f"palette.shift_{what}.help")) for what in ("open", "close")]
            out += [(t("palette.shift_assign"), partial(self._shift, "assign"),
                     t("palette.shift_assign.help")),
                    (t("palette.shift_swap"), partial(self._shift, "swap"),
                     t("palette.shift_swap.help")),
                    (t("palette.shift_roster"), partial(app.action_go, "shift"),
                     t("palette.shift_roster.help"))]
            out.append((t("palette.wall_approve"), partial(supervisor.approve_wall, app),
                        t("palette.wall_approve.help")))
            out += [(t("palette.report", kind=t(f"report_kind.{kind}")),
                     partial(supervisor.show_report, app, kind),
                     t("palette.report.help", kind=t(f"report_kind.{kind}")))
                    for kind in supervisor.REPORT_KINDS]
        out += [(t(f"palette.check_{d}"), partial(self._shift, "check", f"check{d}"),
                 t(f"palette.check_{d}.help")) for d in ("in", "out")]
        out += [(t(f"palette.language_{code}"), partial(self._language, code),
                 t(f"palette.language_{code}.help")) for code in ("en", "id")]
        if isinstance(screen, TicketScreen) and screen.selected_ticket() is not None:
            # Bound to the ticket under the cursor when the palette opened (and named
            # in each entry), never to wherever the cursor is when one is chosen.
            ticket = screen.selected_ticket() or {}
            ticket_id = int(ticket["id"])
            ref = ticket.get("reference", "")
            for action in ("triage", "note", "merge", "close", "reject", "reopen"):
                if screen.check_action(action, ()):
                    word = t(f"ticket_action.{action}")
                    out.append((t("palette.ticket", action=word),
                                partial(getattr(screen, f"{action}_ticket"), ticket_id),
                                t("palette.ticket.help", action=word, ref=ref)))
            if screen.check_action("priority", (1,)):
                out += [(t("palette.priority", p=p), partial(screen.prioritise_ticket,
                                                             ticket_id, p),
                         f"{ref} → P{p}") for p in range(1, 5)]
            if screen.check_action("route", ()):
                for dept in app.reference.get("departments", []):
                    code = str(dept["code"])
                    run = partial(screen.run_op, ticket_id, "route",
                                  {"department": code}, f"→ {code}")
                    out.append((t("palette.route", code=code, name=dept.get("name", "")), run,
                                t("palette.route.help", ref=ref, name=dept.get("name", code))))
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
