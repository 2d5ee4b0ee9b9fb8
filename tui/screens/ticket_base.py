"""Single-key actions on "the selected ticket", shared by the queue and the detail screen.

Each key is a Binding with an id (so it can be remapped) and an action_* method
that reads the ticket under the cursor once and hands its id on: nothing after
that (a modal's answer, the server's reply) looks at the cursor again. The
network work happens in the app's TicketOps behind a lock, in a worker.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.binding import Binding, BindingType

from tui import i18n
from tui.client import ApiError
from tui.i18n import t
from tui.roles import ACTION_ROLES
from tui.screens.base import PantauScreen
from tui.screens.modals import Choice, ConfirmModal, PickerModal, PromptModal
from tui.tickets import Ticket, code_of, name_of, ticket_summary


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

    def _subject(self, ticket_id: int) -> tuple[str, str]:
        """(reference, summary line) of the ticket a modal acts on, as the store holds it."""
        ticket = self.papp.store.get(ticket_id) or {"id": ticket_id}
        return str(ticket.get("reference") or f"#{ticket_id}"), \
            ticket_summary(ticket, i18n.language())

    @work(group="ticket-ops", exit_on_error=False)
    async def run_op(self, ticket_id: int, action: str, extra: dict[str, Any],
                     done: str) -> None:
        await self.papp.ops.call(ticket_id, action, extra, done)

    # -- keys: each acts on the ticket under the cursor *now*, by its id ---------------
    def action_priority(self, priority: int) -> None:
        if ticket := self._ticket_or_warn():
            self.prioritise_ticket(int(ticket["id"]), priority)

    def action_triage(self) -> None:
        if ticket := self._ticket_or_warn():
            self.triage_ticket(int(ticket["id"]))

    def action_route(self) -> None:
        if ticket := self._ticket_or_warn():
            self.route_ticket(int(ticket["id"]))

    def action_note(self) -> None:
        if ticket := self._ticket_or_warn():
            self.note_ticket(int(ticket["id"]))

    def action_merge(self) -> None:
        if ticket := self._ticket_or_warn():
            self.merge_ticket(int(ticket["id"]))

    def action_close(self) -> None:
        if ticket := self._ticket_or_warn():
            self.close_ticket(int(ticket["id"]))

    def action_reject(self) -> None:
        if ticket := self._ticket_or_warn():
            self.reject_ticket(int(ticket["id"]))

    def action_reopen(self) -> None:
        if ticket := self._ticket_or_warn():
            self.reopen_ticket(int(ticket["id"]))

    # -- the changes, bound to one ticket id (the palette calls these too) -------------
    # A modal captures the id when it opens and its answer acts on that id, whatever
    # the cursor or the queue did meanwhile; its title and subject line name it.
    def prioritise_ticket(self, ticket_id: int, priority: int) -> None:
        self.run_op(ticket_id, "triage", {"priority": priority}, f"P{priority}")

    def triage_ticket(self, ticket_id: int) -> None:
        self.run_op(ticket_id, "triage", {}, t("done.triaged"))

    def reopen_ticket(self, ticket_id: int) -> None:
        self.run_op(ticket_id, "reopen", {}, t("done.reopened"))

    def route_ticket(self, ticket_id: int) -> None:
        """The department picker; only the server's suggestion is preselected."""
        ticket = self.papp.store.get(ticket_id) or {}
        suggested = ticket.get("suggested_department")
        departments = self.papp.reference.get("departments") or []
        choices = [Choice(str(d["code"]), f"{d['code']} · {d.get('name', '')}")
                   for d in departments]
        if not choices and suggested:
            choices = [Choice(code_of(suggested), f"{code_of(suggested)} · {name_of(suggested)}")]
        ref, summary = self._subject(ticket_id)

        def chosen(code: str | None) -> None:
            if code:
                self.run_op(ticket_id, "route", {"department": code}, f"→ {code}")

        title = (t("route.title", ref=ref, suggested=code_of(suggested)) if suggested
                 else t("route.no_suggestion", ref=ref))
        self.app.push_screen(PickerModal(title, choices, selected=code_of(suggested) or None,
                                         subject=summary), chosen)

    def note_ticket(self, ticket_id: int) -> None:
        ref, summary = self._subject(ticket_id)

        def written(answer: list[str] | None) -> None:
            if answer:
                self.run_op(ticket_id, "note", {"body": answer[0]}, t("done.note_added"))

        self.app.push_screen(PromptModal(t("note.title", ref=ref), ["…"], subject=summary),
                             written)

    def close_ticket(self, ticket_id: int) -> None:
        self._confirmed(ticket_id, "close", "confirm.close", t("done.closed"))

    def reject_ticket(self, ticket_id: int) -> None:
        self._confirmed(ticket_id, "reject", "confirm.reject", t("done.rejected"))

    def _confirmed(self, ticket_id: int, action: str, question: str, done: str) -> None:
        ref, summary = self._subject(ticket_id)

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_op(ticket_id, action, {}, done)

        self.app.push_screen(ConfirmModal(t(question, ref=ref), subject=summary), answered)

    def merge_ticket(self, ticket_id: int) -> None:
        self.pick_merge_target(ticket_id)

    @work(exclusive=True, group="merge-pick", exit_on_error=False)
    async def pick_merge_target(self, ticket_id: int) -> None:
        """Offer the server's duplicate suggestions first, then every other open ticket."""
        try:
            body = await self.papp.client.get(f"/api/tickets/{ticket_id}/duplicates")
            dups = body.get("items", body) if isinstance(body, dict) else body
        except ApiError:
            dups = []
        seen = {ticket_id}
        choices = []
        suggestions = [d.get("ticket", d) for d in dups]
        for cand in [*suggestions, *self.papp.store.open_tickets()]:
            if int(cand["id"]) in seen:
                continue
            seen.add(int(cand["id"]))
            choices.append(Choice(str(cand["id"]), f"{cand.get('reference')} · "
                                  f"{str(cand.get('description', ''))[:40]}"))
        ref, summary = self._subject(ticket_id)

        def chosen(target: str | None) -> None:
            if not target:
                return
            into = self.papp.store.get(int(target)) or {}
            question = t("confirm.merge", ref=ref, into=into.get("reference", target))

            def answered(yes: bool | None) -> None:
                if yes:
                    self.run_op(ticket_id, "merge", {"into": int(target)}, t("done.merged"))

            self.app.push_screen(ConfirmModal(question, subject=summary), answered)

        first = str(suggestions[0]["id"]) if suggestions else None
        self.app.push_screen(PickerModal(t("merge.title", ref=ref), choices, selected=first,
                                         subject=summary), chosen)
