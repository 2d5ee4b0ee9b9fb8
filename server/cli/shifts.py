"""`pantau shift status|open|close|roster|assign|swap|checkin|checkout|handover`.

The same rules as the API (server/shifts), run against the database directly.
Changes are recorded in the event log as the supervisor named by `--as USERNAME`
(env PANTAU_AS), who must hold the supervisor or admin role: the CLI has no
login, so the name is what makes the audit trail honest. Anything that changes a
live (open) shift asks for confirmation; `--yes` skips it. Exit status: 0 done,
1 refused by a rule or not confirmed, 2 bad usage.

SHIFT is a shift id, or a template code (pagi, siang, malam) with `--day`
(default: today in Asia/Jakarta), or omitted for the current shift (the open
one, else the one the clock says).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from server.cli.common import CONTEXT_SETTINGS, database, database_url_option, fail, run_async
from server.cli.common import with_orm as _with_orm

T = TypeVar("T")
ROLE_CHOICES = ("call_center", "expert", "police", "supervisor")


def _run(url: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` with the ORM; a refused rule becomes one line and exit status 1."""
    from server.shifts.errors import ShiftError

    try:
        return run_async(_with_orm(url, work))
    except ShiftError as exc:
        raise fail(f"refused: {exc}") from None


def as_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--as", "as_user", envvar="PANTAU_AS", required=True, metavar="USERNAME",
                        help="The supervisor doing this, recorded in the event log "
                             "(env PANTAU_AS).")(f)


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(f)


def yes_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--yes", "-y", is_flag=True,
                        help="Do not ask for confirmation.")(f)


def day_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--day", type=click.DateTime(["%Y-%m-%d"]), default=None,
                        help="Day of a template-named SHIFT (default: today, Asia/Jakarta).")(f)


async def _resolve(selector: str | None, day: datetime | None, *, plan_as: Any = None) -> Any:
    """The ShiftRow a SHIFT argument names; plans it first when `plan_as` is given."""
    from tortoise import connections

    from server.shifts import roster, store
    from server.shifts.clock import JAKARTA, slot_for, utcnow
    from server.shifts.errors import ShiftError

    conn = connections.get("default")
    if selector is not None and selector.isdigit():
        return await store.get_shift(conn, int(selector))
    if selector is None:
        running = await store.open_shift_row(conn)
        if running is not None and day is None:
            return running
        if day is None:
            tpls = await store.templates(conn)
            code, the_day = slot_for(utcnow(), [(t["code"], t["starts_at"], t["ends_at"])
                                                for t in tpls])
        else:
            raise ShiftError("name the shift (pagi, siang, malam) with --day", "invalid")
    else:
        code = selector
        the_day = day.date() if day else datetime.now(JAKARTA).date()
    found = await store.find_shift(conn, code, the_day)
    if found is None and plan_as is not None:
        return await roster.plan_shift(code, the_day, plan_as)
    if found is None:
        raise ShiftError(f"shift {code} {the_day} is not planned yet"
                         " (assign someone to it first)", "not_found")
    return found


async def _supervisor(username: str) -> Any:
    from server.shifts.actors import load_actor, require_supervisor

    actor = await load_actor(username, via="cli")
    require_supervisor(actor, "use this command")
    return actor


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[str("-" if v is None else v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    from server.shifts.clock import JAKARTA

    return datetime.fromisoformat(iso).astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M")


def _print_view(view: dict[str, Any]) -> None:
    if view.get("id") is None:
        click.echo(f"shift {view['template']} {view['day']}: not planned yet")
        return
    click.echo(f"shift #{view['id']} {view['template']} {view['day']}  status: {view['status']}"
               f"  ({_when(view['starts_at'])} - {_when(view['ends_at'])} WIB)")
    if view.get("opened_by"):
        click.echo(f"opened by {view['opened_by']} at {_when(view['opened_at'])}")
    _table(["ROLE", "MINIMUM", "ROSTERED", "PRESENT", "SHORT"],
           [[s["role"], s["minimum"], s["rostered"], s["present"],
             view["shortfall"].get(s["role"], "")] for s in view["staffing"]])
    if view["understaffed"]:
        short = ", ".join(f"{r} {n}" for r, n in view["shortfall"].items())
        click.echo(f"UNDERSTAFFED since {_when(view['understaffed_since'])}: short {short}")
    elif view["status"] == "open":
        click.echo("staffing meets the minimums")
    for h in view.get("incoming_handovers", []):
        click.echo(f"handover #{h['id']} from {h['shift']} awaits acknowledgement "
                   f"(pantau shift handover ack {h['id']})")


@click.group("shift", context_settings=CONTEXT_SETTINGS)
def shift_group() -> None:
    """Shifts: staffing, roster, swaps, check-in, open/close and handover (supervisors).

    Changes need `--as USERNAME` (a supervisor; env PANTAU_AS), which is recorded
    in the event log. Exit status 1 when a rule refuses or you do not confirm.
    """


@shift_group.command("status")
@database_url_option
@json_option
@click.argument("shift", required=False)
@day_option
def status(database_url: str | None, as_json: bool, shift: str | None,
           day: datetime | None) -> None:
    """Staffing against the minimums, and pending handovers, of a shift.

    With --day and no SHIFT: every shift of that day.
    """
    from server.shifts import views

    async def load() -> Any:
        if shift is None and day is not None:
            return await views.day_view(day.date())
        if shift is None:
            return await views.current()
        return await views.shift_view(await _resolve(shift, day))

    with database(database_url) as db:
        data = _run(db.url, load)
    if as_json:
        _echo_json(data)
    elif isinstance(data, list):
        _table(["ID", "SHIFT", "DAY", "STATUS", "STARTS (WIB)", "SHORT"],
               [[v["id"], v["template"], v["day"], v["status"], _when(v["starts_at"]),
                 ", ".join(f"{r} {n}" for r, n in v["shortfall"].items()) or "-"]
                for v in data])
    else:
        _print_view(data)


@shift_group.command("roster")
@database_url_option
@json_option
@click.argument("shift", required=False)
@day_option
def roster_cmd(database_url: str | None, as_json: bool, shift: str | None,
               day: datetime | None) -> None:
    """Who is on a shift, in which role, and when they checked in and out."""
    from tortoise import connections

    from server.shifts import roster

    async def load() -> tuple[Any, list[dict[str, Any]]]:
        row = await _resolve(shift, day)
        return row, await roster.roster(connections.get("default"), row.id)

    with database(database_url) as db:
        row, people = _run(db.url, load)
    if as_json:
        _echo_json({"shift_id": row.id, "shift": row.label, "status": row.status,
                    "roster": people})
        return
    click.echo(f"shift #{row.id} {row.label} ({row.status})")
    _table(["ROLE", "USERNAME", "NAME", "IN", "OUT", "SWAPPED FROM"],
           [[p["role"], p["username"], p["full_name"],
             _when(p["checked_in_at"].isoformat() if p["checked_in_at"] else None),
             _when(p["checked_out_at"].isoformat() if p["checked_out_at"] else None),
             p["swapped_from"]] for p in people])
    click.echo(f"{len(people)} people")


def _confirm_live(row: Any, question: str, yes: bool) -> None:
    """Ask before changing an open shift (or before opening/closing one)."""
    if not yes:
        click.confirm(question, abort=True)


@shift_group.command("open")
@database_url_option
@as_option
@json_option
@yes_option
@click.argument("shift", required=False)
@day_option
def open_cmd(database_url: str | None, as_user: str, as_json: bool, yes: bool,
             shift: str | None, day: datetime | None) -> None:
    """Open a shift (one at a time; its incoming handover must be acknowledged)."""
    from server.shifts import lifecycle

    with database(database_url) as db:
        actor, row = _run(db.url, lambda: _both(lambda: _supervisor(as_user),
                                               lambda: _resolve(shift, day)))
        _confirm_live(row, f"Open shift {row.label} as {actor.username}?", yes)
        result = _run(db.url, lambda: lifecycle.open_shift(row.id, actor))
    if as_json:
        _echo_json(result)
        return
    click.echo(f"opened shift #{row.id} {row.label}")
    if result["shortfall"]:
        short = ", ".join(f"{r} {n}" for r, n in result["shortfall"].items())
        click.echo(f"UNDERSTAFFED: short {short} (people check in with `pantau shift checkin`)")


async def _both(a: Callable[[], Awaitable[Any]],
                b: Callable[[], Awaitable[Any]]) -> tuple[Any, Any]:
    """Two steps in order; the second is not even created if the first refuses."""
    first = await a()
    return first, await b()


@shift_group.command("close")
@database_url_option
@as_option
@json_option
@yes_option
@click.argument("shift", required=False)
@day_option
@click.option("--notes", default="", help="The handover text for the incoming supervisor.")
@click.option("--notes-file", type=click.File("r"), default=None,
              help="Read the handover text from a file ('-' for stdin).")
def close_cmd(database_url: str | None, as_user: str, as_json: bool, yes: bool,
              shift: str | None, day: datetime | None, notes: str, notes_file: Any) -> None:
    """Close the open shift, writing its handover note."""
    from server.shifts import lifecycle

    text = notes_file.read() if notes_file is not None else notes
    with database(database_url) as db:
        actor, row = _run(db.url, lambda: _both(lambda: _supervisor(as_user),
                                               lambda: _resolve(shift, day)))
        _confirm_live(row, f"Close shift {row.label} and hand over?", yes)
        result = _run(db.url, lambda: lifecycle.close_shift(row.id, actor, text))
    if as_json:
        _echo_json(result)
        return
    click.echo(f"closed shift #{row.id} {row.label}")
    _print_handover(result["handover"])


def _print_handover(h: dict[str, Any]) -> None:
    state = (f"acknowledged by {h['acknowledged_by']} at {_when(h['acknowledged_at'])}"
             if h["acknowledged_at"] else "PENDING acknowledgement")
    click.echo(f"handover #{h['id']} from {h['shift']} by {h['written_by']}: {state}")
    s = h["summary"]
    lines = [
        ("open P1/P2 tickets", s["open_emergencies"], lambda t: f"{t['reference']} P"
         f"{t['priority']} {t['status']} {t['department'] or '-'}"),
        ("open panic alarms", s["alarms"], lambda a: f"#{a['id']} {a['status']} {a['device']}"),
        ("SLA breaches in the shift", s["sla_breaches"],
         lambda b: f"{b['reference']} {b['kind']} due {_when(b['due_at'])}"),
        ("cameras offline", s["cameras_offline"], lambda c: f"{c['code']} ({c['name']})"),
    ]
    for title, section, fmt in lines:
        extra = (f", {section['unacknowledged']} unacknowledged"
                 if "unacknowledged" in section else "")
        click.echo(f"  {title}: {section['count']}{extra}")
        for item in section["items"][:10]:
            click.echo(f"    - {fmt(item)}")
    click.echo(f"  notes: {h['notes'] or '(none)'}")


@shift_group.command("assign")
@database_url_option
@as_option
@json_option
@yes_option
@click.argument("shift")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLE_CHOICES), default=None,
              help="Role on this shift (default: the person's first shift role).")
@day_option
def assign_cmd(database_url: str | None, as_user: str, as_json: bool, yes: bool, shift: str,
               username: str, role: str | None, day: datetime | None) -> None:
    """Put USERNAME on SHIFT (planning the shift if it does not exist yet)."""
    from server.shifts import roster

    with database(database_url) as db:
        actor = _run(db.url, lambda: _supervisor(as_user))
        row = _run(db.url, lambda: _resolve(shift, day, plan_as=actor))
        if row.status == "open":
            _confirm_live(row, f"Shift {row.label} is open. Add {username} to it?", yes)
        result = _run(db.url, lambda: roster.assign(row.id, username, role, actor))
    if as_json:
        _echo_json(result | {"shift_id": row.id})
        return
    click.echo(f"assigned {result['person']} to shift #{row.id} {row.label} as {result['role']}")


@shift_group.command("swap")
@database_url_option
@as_option
@json_option
@yes_option
@click.argument("shift")
@click.argument("out_user", metavar="OUT")
@click.argument("in_user", metavar="IN")
@click.option("--with-shift", "other", default=None, metavar="SHIFT_ID",
              help="Exchange with IN's place on this other shift (id) instead of replacing.")
@click.option("--reason", default="", help="Why (kept in the event log).")
@day_option
def swap_cmd(database_url: str | None, as_user: str, as_json: bool, yes: bool, shift: str,
             out_user: str, in_user: str, other: str | None, reason: str,
             day: datetime | None) -> None:
    """Approve a swap: IN takes OUT's place on SHIFT (both ways with --with-shift)."""
    from server.shifts import roster

    if other is not None and not other.isdigit():
        raise click.BadParameter("must be a shift id", param_hint="--with-shift")
    with database(database_url) as db:
        actor, row = _run(db.url, lambda: _both(lambda: _supervisor(as_user),
                                               lambda: _resolve(shift, day)))
        if row.status == "open":
            _confirm_live(row, f"Shift {row.label} is open. Replace {out_user} by {in_user}?",
                          yes)
        result = _run(db.url, lambda: roster.swap(
            row.id, out_user, in_user, actor, other_shift_id=int(other) if other else None,
            reason=reason))
    if as_json:
        _echo_json(result | {"shift_id": row.id})
        return
    if "other_shift" in result:
        click.echo(f"swapped {result['out']} ({result['shift']}) with {result['in']} "
                   f"({result['other_shift']}), approved by {result['approved_by']}")
    else:
        click.echo(f"{result['in']} replaces {result['out']} on {result['shift']} as "
                   f"{result['role']}, approved by {result['approved_by']}")


def _presence_command(name: str, out: bool) -> click.Command:
    @click.command(name)
    @database_url_option
    @as_option
    @json_option
    @yes_option
    @click.argument("username")
    @click.argument("shift", required=False)
    @day_option
    def command(database_url: str | None, as_user: str, as_json: bool, yes: bool,
                username: str, shift: str | None, day: datetime | None) -> None:
        from server.shifts import presence

        # Checking out lowers an open shift's staffing; checking in only adds.
        if out and not yes:
            click.confirm(f"Check {username} out of their shift?", abort=True)

        async def act() -> dict[str, Any]:
            actor = await _supervisor(as_user)
            shift_id = (await _resolve(shift, day)).id if shift is not None else None
            fn = presence.check_out if out else presence.check_in
            return await fn(actor, shift_id, username)

        with database(database_url) as db:
            result = _run(db.url, act)
        if as_json:
            _echo_json(result)
            return
        verb = "checked out of" if out else "checked in to"
        click.echo(f"{result['person']} {verb} {result['shift']} as {result['role']} "
                   f"at {_when(result['at'])} WIB")

    command.help = (f"Check USERNAME {'out of' if out else 'in to'} their shift (SHIFT, or the "
                    "one they are rostered on now), on their behalf.")
    return command


shift_group.add_command(_presence_command("checkin", out=False))
shift_group.add_command(_presence_command("checkout", out=True))


@shift_group.group("handover", invoke_without_command=True)
@database_url_option
@json_option
@click.option("--all", "show_all", is_flag=True, help="Recent handovers, not only pending.")
@click.pass_context
def handover_group(ctx: click.Context, database_url: str | None, as_json: bool,
                   show_all: bool) -> None:
    """Handover notes: list pending ones (default), show, write, acknowledge."""
    if ctx.invoked_subcommand is not None:
        return
    from server.shifts import handover

    with database(database_url) as db:
        rows = _run(db.url, lambda: handover.handovers(pending_only=not show_all))
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        click.echo("no handover awaits acknowledgement" if not show_all else "no handovers")
        return
    _table(["ID", "FROM SHIFT", "WRITTEN BY", "AT (WIB)", "STATE"],
           [[h["id"], h["shift"], h["written_by"], _when(h["created_at"]),
             "pending" if h["pending"] else f"ack {h['acknowledged_by']}"] for h in rows])


@handover_group.command("show")
@database_url_option
@json_option
@click.argument("handover_id", type=click.IntRange(1))
def handover_show(database_url: str | None, as_json: bool, handover_id: int) -> None:
    """Print one handover note with its snapshot."""
    from server.shifts import handover

    with database(database_url) as db:
        h = _run(db.url, lambda: handover.handover(handover_id))
    if as_json:
        _echo_json(h)
    else:
        _print_handover(h)


@handover_group.command("write")
@database_url_option
@as_option
@json_option
@click.argument("shift", required=False)
@day_option
@click.option("--notes", required=True, help="The text for the incoming supervisor.")
def handover_write(database_url: str | None, as_user: str, as_json: bool, shift: str | None,
                   day: datetime | None, notes: str) -> None:
    """Write (or revise) the open shift's handover before closing it."""
    from server.shifts import handover

    async def act() -> dict[str, Any]:
        actor = await _supervisor(as_user)
        return await handover.write_handover((await _resolve(shift, day)).id, actor, notes)

    with database(database_url) as db:
        h = _run(db.url, act)
    if as_json:
        _echo_json(h)
    else:
        _print_handover(h)


@handover_group.command("ack")
@database_url_option
@as_option
@json_option
@yes_option
@click.argument("handover_id", type=click.IntRange(1))
def handover_ack(database_url: str | None, as_user: str, as_json: bool, yes: bool,
                 handover_id: int) -> None:
    """Acknowledge a handover as the incoming supervisor (shows it first)."""
    from server.shifts import handover

    with database(database_url) as db:
        actor, h = _run(db.url, lambda: _both(lambda: _supervisor(as_user),
                                              lambda: handover.handover(handover_id)))
        if not yes and not as_json:
            _print_handover(h)
        if not yes:
            click.confirm(f"Acknowledge handover #{handover_id} as {actor.username}?",
                          abort=True)
        done = _run(db.url, lambda: handover.acknowledge(handover_id, actor))
    if as_json:
        _echo_json(done)
    else:
        click.echo(f"handover #{handover_id} acknowledged by {done['acknowledged_by']}")


COMMANDS = [shift_group]
