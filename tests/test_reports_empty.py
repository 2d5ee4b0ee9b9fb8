"""Reports for a period with nothing in it: every kind and format renders, with zeros
and a plain "no tickets in this period", from the CLI and from the API.

The CLI runs against a freshly migrated database with no seed at all (no
departments, no people); the API against the demo city for periods long before
any ticket."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from db import migrate
from server.reports import render
from tests.conftest import Api

PERIODS = [("weekly", "--week", "2025-W10"), ("monthly", "--month", "2025-03"),
           ("yearly", "--year", "2025")]


@pytest.fixture
async def migrated_db_url(empty_db_url: str) -> AsyncIterator[str]:
    """Schema only: what `pantau db upgrade` leaves before any seed."""
    await migrate.upgrade(empty_db_url)
    yield empty_db_url


@pytest.mark.parametrize(("kind", "option", "label"), PERIODS)
def test_report_cli_renders_an_empty_period(migrated_db_url: str, tmp_path: Path, kind: str,
                                            option: str, label: str) -> None:
    from server.cli import main

    runner = CliRunner()
    env = {"DATABASE_URL": migrated_db_url}
    r = runner.invoke(main, ["report", kind, option, label], env=env)
    assert r.exit_code == 0, r.output
    assert "Tiket masuk: 0." in r.output
    assert "Tidak ada tiket pada periode ini." in r.output

    r = runner.invoke(main, ["report", kind, option, label, "--lang", "en", "--json"], env=env)
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["totals"]["tickets"] == 0 and data["totals"]["alarms"] == 0
    assert data["totals"]["ack_compliance"] is None
    assert "No tickets in this period." in data["summary"]
    assert data["tables"]["channels"]["rows"] == []
    assert data["tables"]["sla_departments"]["rows"] == []

    out = tmp_path / kind
    r = runner.invoke(main, ["report", kind, option, label, "--out", str(out), "--lang", "en"],
                      env=env)
    assert r.exit_code == 0, r.output
    html = (out / "report.html").read_text()
    assert "No tickets in this period." in html
    assert "Tickets received: 0." in html
    for name in render.ORDER:
        with (out / f"{name}.csv").open() as f:
            header = next(csv.reader(f))
        assert header, name
    heat = list(csv.DictReader((out / "heatmap.csv").open()))
    assert len(heat) == 7 and {heat[0][f"h{h:02d}"] for h in range(24)} == {"0"}


def test_report_cli_default_yearly_on_an_empty_database(migrated_db_url: str) -> None:
    """`pantau report yearly` with no --year: last year, which has no tickets."""
    from server.cli import main

    r = CliRunner().invoke(main, ["report", "yearly", "--lang", "en"],
                           env={"DATABASE_URL": migrated_db_url})
    assert r.exit_code == 0, r.output
    assert "Tickets received: 0." in r.output and "No tickets in this period." in r.output


@pytest.mark.parametrize(("kind", "label"), [("weekly", "2025-W10"), ("monthly", "2025-03"),
                                              ("yearly", "2025")])
async def test_report_endpoint_renders_an_empty_period(api: Api, kind: str, label: str) -> None:
    spv = await api.login("supervisor")
    status, body = await api.get(f"/api/reports/{kind}?period={label}", token=spv)
    assert status == 200, body
    assert body["totals"]["tickets"] == 0
    assert "Tidak ada tiket pada periode ini." in body["summary"]
    status, page = await api.get(f"/api/reports/{kind}?period={label}&format=html&lang=en",
                                 token=spv)
    assert status == 200 and "No tickets in this period." in page
    status, text = await api.get(f"/api/reports/{kind}?period={label}&format=text", token=spv)
    assert status == 200 and "Tiket masuk: 0." in text
    for table in render.ORDER:
        status, text = await api.get(
            f"/api/reports/{kind}?period={label}&format=csv&table={table}", token=spv)
        assert status == 200, (table, text)
        rows = list(csv.reader(io.StringIO(text)))
        assert rows and rows[0], table
