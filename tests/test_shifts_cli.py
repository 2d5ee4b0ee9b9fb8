"""`pantau shift ...`: output, --json and exit status of every command, in-process
with click's runner (plus one run of the real binary)."""

from __future__ import annotations

import json
from datetime import time

import pytest
from click.testing import CliRunner, Result

from server.shifts.clock import slot_for, utcnow
from tests.test_cli import run

TEMPLATES = [("pagi", time(7), time(15)), ("siang", time(15), time(23)),
             ("malam", time(23), time(7))]


@pytest.fixture
def cli(db_url: str):  # type: ignore[no-untyped-def]
    from server.cli import main

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(main, ["shift", *args], input=input,
                             env={"DATABASE_URL": db_url, "PANTAU_AS": None})

    return invoke


def test_shift_commands_end_to_end(cli) -> None:  # type: ignore[no-untyped-def]
    code, day = slot_for(utcnow(), TEMPLATES)
    others = [c for c, _s, _e in TEMPLATES if c != code]
    sel = [code, "--day", day.isoformat()]

    r = cli("assign", *sel, "operator", "--as", "operator")
    assert r.exit_code == 1 and "refused: only a supervisor may use this command" in r.output

    extra = f"cc.{others[0]}.07"  # from another shift; the demo operator is on every one
    r = cli("assign", *sel, extra, "--as", "supervisor")
    assert r.exit_code == 0, r.output
    assert f"assigned {extra} to shift #" in r.output and "as call_center" in r.output
    shift_id = r.output.split("#")[1].split()[0]

    for again in (extra, "operator"):
        r = cli("assign", *sel, again, "--as", "supervisor")
        assert r.exit_code == 1 and "already on" in r.output

    r = cli("status", "--json")
    assert r.exit_code == 0
    view = json.loads(r.output)
    assert str(view["id"]) == shift_id and view["status"] == "planned"

    r = cli("open", "--as", "supervisor", input="n\n")
    assert r.exit_code == 1 and "Aborted" in r.output
    r = cli("open", "--as", "supervisor", input="y\n")
    assert r.exit_code == 0, r.output
    assert f"opened shift #{shift_id}" in r.output and "UNDERSTAFFED" in r.output
    r = cli("open", shift_id, "--as", "supervisor", "--yes")
    assert r.exit_code == 1 and "already open" in r.output

    r = cli("status")
    assert r.exit_code == 0
    assert "ROLE" in r.output and "MINIMUM" in r.output and "UNDERSTAFFED since" in r.output

    r = cli("checkin", "operator", "--as", "supervisor")
    assert r.exit_code == 0, r.output
    assert f"operator checked in to {code} {day}" in r.output
    r = cli("checkin", "operator", "--as", "supervisor")
    assert r.exit_code == 1 and "already checked in" in r.output

    r = cli("roster", "--json")
    data = json.loads(r.output)
    me = next(p for p in data["roster"] if p["username"] == "operator")
    assert me["checked_in_at"] is not None and data["status"] == "open"
    r = cli("roster")
    assert r.exit_code == 0 and "USERNAME" in r.output and "operator" in r.output

    # A change to a live shift asks first.
    r = cli("assign", shift_id, f"cc.{others[0]}.05", "--as", "supervisor", input="n\n")
    assert r.exit_code == 1 and "is open" in r.output
    r = cli("assign", shift_id, f"cc.{others[0]}.05", "--as", "supervisor", "--yes")
    assert r.exit_code == 0
    r = cli("swap", shift_id, f"cc.{others[0]}.05", f"cc.{others[1]}.06", "--as", "supervisor",
            "--reason", "sakit", "--yes")
    assert r.exit_code == 0, r.output
    assert f"cc.{others[1]}.06 replaces cc.{others[0]}.05" in r.output
    assert "approved by supervisor" in r.output
    r = cli("swap", shift_id, "nobody", "operator", "--as", "supervisor", "--yes")
    assert r.exit_code == 1 and "no active person 'nobody'" in r.output
    r = cli("swap", shift_id, "a", "b", "--with-shift", "x", "--as", "supervisor")
    assert r.exit_code == 2

    r = cli("checkout", "operator", "--as", "supervisor", input="n\n")
    assert r.exit_code == 1 and "Aborted" in r.output
    r = cli("checkout", "operator", "--as", "supervisor", "--json", "--yes")
    assert r.exit_code == 0 and json.loads(r.output)["person"] == "operator"

    r = cli("handover")
    assert r.exit_code == 0 and "no handover awaits acknowledgement" in r.output
    r = cli("close", "--as", "supervisor", "--notes", "Jalan Braga ditutup", "--yes")
    assert r.exit_code == 0, r.output
    assert f"closed shift #{shift_id}" in r.output and "PENDING acknowledgement" in r.output
    assert "open P1/P2 tickets:" in r.output and "notes: Jalan Braga ditutup" in r.output
    handover_id = r.output.split("handover #")[1].split()[0]

    r = cli("handover", "--json")
    pending = json.loads(r.output)
    assert [str(h["id"]) for h in pending] == [handover_id]
    r = cli("handover")
    assert "pending" in r.output and "FROM SHIFT" in r.output
    r = cli("handover", "ack", handover_id, "--as", "supervisor", "--yes")
    assert r.exit_code == 1 and "not the writer" in r.output
    r = cli("handover", "ack", handover_id, "--as", "admin", input="y\n")
    assert r.exit_code == 0, r.output
    assert "cameras offline:" in r.output  # the note is shown before confirming
    assert f"handover #{handover_id} acknowledged by admin" in r.output
    r = cli("handover", "show", handover_id, "--json")
    assert json.loads(r.output)["acknowledged_by"] == "admin"
    r = cli("handover", "--all")
    assert "ack admin" in r.output

    r = cli("status", "--day", day.isoformat())
    assert r.exit_code == 0 and "closed" in r.output and "STARTS (WIB)" in r.output
    r = cli("status", "9999999")
    assert r.exit_code == 1 and "no shift 9999999" in r.output
    r = cli("open", "--as")
    assert r.exit_code == 2


def test_handover_write_and_missing_as(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("open", "--yes")
    assert r.exit_code == 2 and "--as" in r.output
    r = cli("handover", "write", "--as", "supervisor", "--notes", "x")
    assert r.exit_code == 1 and "refused:" in r.output
    assert "not open" in r.output or "not planned" in r.output


def test_the_real_binary_refuses_non_supervisors_in_one_line(db_url: str) -> None:
    proc = run("shift", "open", "--as", "cc.pagi.01", "--yes", env={"DATABASE_URL": db_url})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "Error: refused: only a supervisor may use this command"]
