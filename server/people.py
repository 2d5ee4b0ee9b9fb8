"""People: the rules for creating and disabling accounts, shared by the API and CLI."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from tortoise.transactions import in_transaction

import lang
from db import events
from db.models import ROLES, Department, Person
from db.passwords import hash_password, password_problem

USERNAME = re.compile(r"^[a-z0-9._-]{2,40}$")


class PersonError(ValueError):
    """A rule a new or changed account breaks; the message is for the user."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def person_json(p: Person, department_code: str | None = None) -> dict[str, Any]:
    return {"id": p.id, "username": p.username, "full_name": p.full_name,
            "roles": list(p.roles), "department_id": p.department_id,  # type: ignore[attr-defined]
            "department": department_code, "phone": p.phone, "language": p.language,
            "active": p.active}


async def create_person(*, username: str, full_name: str, password: str, roles: list[str],
                        department_code: str | None = None, phone: str = "",
                        language: str = "id", actor: str = "system") -> Person:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise PersonError("username: 2-40 of a-z, 0-9, '.', '_' or '-'", "username")
    if not full_name.strip():
        raise PersonError("full name must not be empty", "full_name")
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise PersonError(f"roles must be some of: {', '.join(ROLES)}", "roles")
    if language not in lang.LANGUAGES:
        raise PersonError("language must be id or en", "language")
    department = None
    if department_code:
        department = await Department.get_or_none(code=department_code)
        if department is None:
            raise PersonError(f"unknown department {department_code!r}", "department")
    if "department" in roles and department is None:
        raise PersonError("department staff need a department", "department")
    # Both take tens of milliseconds of CPU (zxcvbn up to ~180 ms on a crafted
    # password): in a thread, off the event loop.
    problem = await asyncio.to_thread(password_problem, password,
                                      user_inputs=(username, full_name))
    if problem:
        raise PersonError(problem, "password")
    pw_hash = await asyncio.to_thread(hash_password, password)
    async with in_transaction() as tx:
        if await Person.filter(username=username).using_db(tx).exists():
            raise PersonError(f"username {username!r} is taken", "username")
        person = await Person.create(
            username=username, full_name=full_name.strip(), password_hash=pw_hash,
            roles=list(dict.fromkeys(roles)), department=department, phone=phone,
            language=language, using_db=tx)
        await events.append(tx, "person.created", "person", person.id, actor,
                            {"username": username, "roles": roles,
                             "department": department_code},
                            department_id=department.id if department else None)
    return person


async def set_active(username: str, active: bool, *, actor: str = "system") -> Person:
    """Disable (or re-enable) an account; disabling revokes every token it holds."""
    async with in_transaction() as tx:
        person = await Person.filter(username=username.lower()).using_db(tx).first()
        if person is None:
            raise PersonError(f"no user {username!r}", "username")
        person.active = active
        await person.save(using_db=tx, update_fields=["active"])
        if not active:
            await tx.execute_query(
                "UPDATE auth_tokens SET revoked_at = now()"
                " WHERE person_id = $1 AND revoked_at IS NULL", [person.id])
        await events.append(tx, "person.enabled" if active else "person.disabled", "person",
                            person.id, actor, {"username": person.username},
                            department_id=person.department_id)  # type: ignore[attr-defined]
    return person


async def set_language(person_id: int, language: str, *, actor: str) -> str:
    """A person's language, which every surface they sign in to uses from its first frame.

    One `person.language_changed` event when it changes; setting the same language
    again writes nothing.
    """
    if language not in lang.LANGUAGES:
        raise PersonError("language must be id or en", "language")
    async with in_transaction() as tx:
        person = await Person.filter(id=person_id).using_db(tx).select_for_update().first()
        if person is None:
            raise PersonError("no such person", "person")
        if person.language != language:
            person.language = language
            await person.save(using_db=tx, update_fields=["language"])
            await events.append(tx, "person.language_changed", "person", person.id, actor,
                                {"username": person.username, "language": language},
                                department_id=person.department_id)  # type: ignore[attr-defined]
    return language
