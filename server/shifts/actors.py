"""Who is acting on shifts: the API's principal or the CLI's `--as USERNAME`."""

from __future__ import annotations

from dataclasses import dataclass

from db.models import Person
from server.shifts.errors import ShiftError

SUPERVISOR_ROLES = frozenset({"supervisor", "admin"})


@dataclass(frozen=True)
class Actor:
    id: int
    username: str
    roles: frozenset[str]
    via: str = "api"

    @property
    def label(self) -> str:
        """How the event log names this actor (the same as server.auth.Principal)."""
        return f"person:{self.username}"

    @property
    def is_supervisor(self) -> bool:
        return bool(self.roles & SUPERVISOR_ROLES)


def require_supervisor(actor: Actor, what: str) -> None:
    if not actor.is_supervisor:
        raise ShiftError(f"only a supervisor may {what}", "forbidden")


async def load_actor(username: str, *, via: str = "cli") -> Actor:
    """An active person by username; the CLI's `--as` goes through here."""
    person = await Person.get_or_none(username=username.strip().lower())
    if person is None or not person.active:
        raise ShiftError(f"no active user {username!r}", "not_found", "as")
    return Actor(person.id, person.username, frozenset(person.roles), via)
