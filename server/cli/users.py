"""`pantau user add|list|disable`."""

from __future__ import annotations

import json

import click

from db.models import ROLES
from server.cli.common import (
    CONTEXT_SETTINGS,
    database,
    database_url_option,
    on_database,
    run_async,
    with_orm,
)


@click.group("user", context_settings=CONTEXT_SETTINGS)
def user_group() -> None:
    """People who sign in: operators, supervisors, department staff, admins."""


@user_group.command("add")
@database_url_option
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Full name.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="A role; repeat for several.")
@click.option("--department", default=None, help="Department code (required for department staff).")
@click.option("--phone", default="", help="Phone number.")
@click.option("--language", type=click.Choice(["id", "en"]), default="id", show_default=True)
@click.password_option("--password", envvar="PANTAU_NEW_PASSWORD",
                       help="Password (prompted if omitted; env PANTAU_NEW_PASSWORD).")
def add(database_url: str | None, username: str, full_name: str, roles: tuple[str, ...],
        department: str | None, phone: str, language: str, password: str) -> None:
    """Create an account."""
    from server.people import PersonError, create_person

    person = on_database(database_url, lambda: create_person(
        username=username, full_name=full_name, password=password, roles=list(roles),
        department_code=department, phone=phone, language=language, actor="cli"),
        (PersonError,))
    click.echo(f"created {person.username} ({', '.join(person.roles)})")


@user_group.command("list")
@database_url_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--role", default=None, type=click.Choice(ROLES), help="Only this role.")
def list_users(database_url: str | None, as_json: bool, role: str | None) -> None:
    """List accounts."""
    from db.models import Person
    from server.people import person_json

    async def load() -> list[dict[str, object]]:
        people = await Person.all().order_by("username").prefetch_related("department")
        return [person_json(p, p.department.code if p.department else None) for p in people
                if role is None or role in p.roles]

    with database(database_url) as db:
        rows = run_async(with_orm(db.url, load))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'USERNAME':<18} {'ROLES':<22} {'DEPT':<10} {'ACTIVE':<6} NAME")
    for r in rows:
        click.echo(f"{r['username']!s:<18} {','.join(r['roles']):<22} "  # type: ignore[arg-type]
                   f"{r['department'] or '-'!s:<10} {'yes' if r['active'] else 'no':<6} "
                   f"{r['full_name']}")
    click.echo(f"{len(rows)} account(s)")


@user_group.command("disable")
@database_url_option
@click.argument("username")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def disable(database_url: str | None, username: str, yes: bool) -> None:
    """Disable an account and revoke its sessions at once."""
    from server.people import PersonError, set_active

    if not yes:
        click.confirm(f"Disable {username} and sign them out everywhere?", abort=True)
    on_database(database_url, lambda: set_active(username, False, actor="cli"), (PersonError,))
    click.echo(f"disabled {username}; their tokens are revoked")


COMMANDS = [user_group]
