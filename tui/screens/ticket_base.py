"""Single-key actions on "the selected ticket", shared by the queue and the detail screen.

Each key is a Binding with an id (so it can be remapped) and an action_* method;
the network work happens in the app's TicketOps behind a lock, in a worker.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.binding import Binding, BindingType

from tui.client import ApiError
from tui.i18n import t
from tui.roles import ACTION_ROLES
from tui.screens.base import PantauScreen
from tui.screens.modals import Choice, ConfirmModal, PickerModal, PromptModal
from tui.tickets import Ticket, code_of, name_of


class TicketScreen(PantauScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "triage", "triage", id="ticket.triage"),
        Binding("r", "route", "route", id="ticket.route"),
        Binding("n", "note", "note", id="ticket.note"),
        Binding("m", "merge", "merge", id="ticket.merge"),
        Binding("c", "close", "close", id="ticket.close"),
        Binding("1", "priority(1)", "priority 1", show=False, id="ticket.p1"),
        Binding("2", "priority(2)", "priority 2", show=False, id="ticket.p2"),
        Binding("3", "priority(3)", "priority 3", show=False, id="ticket.p3"),
        Binding("4", "priority(4)", "priority 4", show=False, id="ticket.p4"),
        Binding("x", "reject", "reject (supervisor)", show=False, id="ticket.reject"),
        Binding("o", "reopen", "reopen (supervisor)", show=False, id="ticket.reopen"),
    ]

    def selected_ticket(self) -> Ticket | None:
        raise NotImplementedError

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        roles = ACTION_ROLES.get(action)
        if roles is not None and not self.papp.has_role(*roles):
            return None  # shown greyed out in help/footer, and the key does nothing
        return True

    def _ticket_or_warn(self) -> Ticket | None:
        ticket = self.selected_ticket()
        if ticket is None:
            self.notify(t("ticket.none"), severity="warning")
        return ticket

    @work(group="ticket-ops", exit_on_error=False)
    async def run_op(self, ticket_id: int, action: str, extra: dict[str, Any],
                     done: str) -> None:
        await self.papp.ops.call(ticket_id, action, extra, done)

    # -- the actions ----------------------------------------------------------------------
    def action_priority(self, priority: int) -> None:
        if ticket := self._ticket_or_warn():
            self.run_op(int(ticket["id"]), "triage", {"priority": priority}, f"P{priority}")

    def action_triage(self) -> None:
        if ticket := self._ticket_or_warn():
            self.run_op(int(ticket["id"]), "triage", {}, "triaged")

    def action_route(self) -> None:
        ticket = self._ticket_or_warn()
        if ticket is None:
            return
        suggested = ticket.get("suggested_department") or ticket.get("department")
        departments = self.papp.reference.get("departments") or []
        choices = [Choice(str(d["code"]), f"{d['code']} · {d.get('name', '')}")
                   for d in departments]
        if not choices and suggested:
            choices = [Choice(code_of(suggested), f"{code_of(suggested)} · {name_of(suggested)}")]
        ticket_id = int(ticket["id"])

        def chosen(code: str | None) -> None:
            if code:
                self.run_op(ticket_id, "route", {"department": code}, f"→ {code}")

        title = t("route.title", ref=ticket.get("reference"),
                  suggested=code_of(suggested) or "-")
        self.app.push_screen(PickerModal(title, choices, selected=code_of(suggested)), chosen)

    def action_note(self) -> None:
        ticket = self._ticket_or_warn()
        if ticket is None:
            return
        ticket_id = int(ticket["id"])

        def written(answer: list[str] | None) -> None:
            if answer:
                self.run_op(ticket_id, "note", {"body": answer[0]}, "note added")

        self.app.push_screen(PromptModal(t("note.title", ref=ticket.get("reference")),
                                         ["…"]), written)

    def action_close(self) -> None:
        self._confirmed("close", t("confirm.close", ref=self._ref()), {}, "closed")

    def action_reject(self) -> None:
        self._confirmed("reject", t("confirm.reject", ref=self._ref()), {}, "rejected")

    def action_reopen(self) -> None:
        if ticket := self._ticket_or_warn():
            self.run_op(int(ticket["id"]), "reopen", {}, "reopened")

    def _ref(self) -> str:
        ticket = self.selected_ticket()
        return str(ticket.get("reference")) if ticket else "?"

    def _confirmed(self, action: str, question: str, extra: dict[str, Any], done: str) -> None:
        ticket = self._ticket_or_warn()
        if ticket is None:
            return
        ticket_id = int(ticket["id"])

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_op(ticket_id, action, extra, done)

        self.app.push_screen(ConfirmModal(question), answered)

    def action_merge(self) -> None:
        if ticket := self._ticket_or_warn():
            self.pick_merge_target(ticket)

    @work(exclusive=True, group="merge-pick", exit_on_error=False)
    async def pick_merge_target(self, ticket: Ticket) -> None:
        """Offer the server's duplicate suggestions first, then every other open ticket."""
        ticket_id = int(ticket["id"])
        try:
            body = await self.papp.client.get(f"/api/tickets/{ticket_id}/duplicates")
            dups = body.get("items", body) if isinstance(body, dict) else body
        except ApiError:
            dups = []
        seen = {ticket_id}
        choices = []
        for cand in [*(d.get("ticket", d) for d in dups), *self.papp.store.open_tickets()]:
            if int(cand["id"]) in seen:
                continue
            seen.add(int(cand["id"]))
            choices.append(Choice(str(cand["id"]), f"{cand.get('reference')} · "
                                  f"{str(cand.get('description', ''))[:40]}"))
        ref = ticket.get("reference")

        def chosen(target: str | None) -> None:
            if not target:
                return
            into = self.papp.store.get(int(target)) or {}
            question = t("confirm.merge", ref=ref, into=into.get("reference", target))

            def answered(yes: bool | None) -> None:
                if yes:
                    self.run_op(ticket_id, "merge", {"into": int(target)}, "merged")

            self.app.push_screen(ConfirmModal(question), answered)

        self.app.push_screen(PickerModal(t("merge.title", ref=ref), choices), chosen)
