"""Report outputs: `pantau report ...` files and exit codes, and the supervisors'
endpoint in every format, on the fixed dataset of test_reports_figures."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import Api
from tests.test_reports_figures import insert_dataset


def test_report_cli_writes_html_csv_and_summary(db_url: str, tmp_path: Path) -> None:
    from server.cli import main

    asyncio.run(insert_dataset(db_url))
    runner = CliRunner()
    env = {"DATABASE_URL": db_url}
    out = tmp_path / "w47"
    r = runner.invoke(main, ["report", "weekly", "--week", "2026-W47", "--out", str(out)],
                      env=env)
    assert r.exit_code == 0, r.output
    assert f"wrote 15 files to {out}" in r.output
    html = (out / "report.html").read_text()
    assert "Laporan Mingguan 2026-W47" in html and html.count("<svg") >= 8
    assert "<script" not in html and "src=" not in html and "href=" not in html
    with (out / "channels.csv").open() as f:
        assert list(csv.reader(f)) == [["channel", "tickets", "share"],
                                       ["open311", "2", "40.0"], ["call112", "1", "20.0"],
                                       ["walk_in", "1", "20.0"], ["web", "1", "20.0"]]
    summary = (out / "summary.txt").read_text()
    assert "Tiket masuk: 5." in summary
    assert "Panggilan 112: 1, bukan darurat 1 (100%)." in summary
    shifts = list(csv.DictReader((out / "staffing_shifts.csv").open()))
    assert shifts == [{"day": "2026-11-22", "template": "pagi", "status": "ditutup",
                       "minimum": "29", "rostered": "3", "attended": "2",
                       "short_roles": "Call center, Ahli, Polisi"}]
    heat = list(csv.DictReader((out / "heatmap.csv").open()))
    assert heat[6]["weekday"] == "Min" and heat[6]["h23"] == "1"

    r = runner.invoke(main, ["report", "monthly", "--month", "2026-11", "--lang", "en"],
                      env=env)
    assert r.exit_code == 0
    assert r.output.splitlines()[0] == "Monthly Report 2026-11 (2026-11-01 to 2026-11-30 WIB)"
    assert "112 calls: 3, not emergencies 2 (66.7%)." in r.output
    r = runner.invoke(main, ["report", "yearly", "--year", "2026", "--json"], env=env)
    assert r.exit_code == 0 and json.loads(r.output)["totals"]["tickets"] == 9
    r = runner.invoke(main, ["report", "weekly", "--week", "2026-47"], env=env)
    assert r.exit_code == 2 and "a week looks like 2026-W47" in r.output
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = runner.invoke(main, ["report", "weekly", "--week", "2026-W47", "--out",
                             str(blocker / "x")], env=env)
    assert r.exit_code == 1 and "cannot write the report" in r.output


async def test_report_endpoint_formats_and_permissions(api: Api, db_url: str) -> None:
    await insert_dataset(db_url)
    spv = await api.login("supervisor")
    op = await api.login("operator")
    status, _ = await api.get("/api/reports/weekly?period=2026-W47", token=op)
    assert status == 403
    status, body = await api.get("/api/reports/weekly?period=2026-W47", token=spv)
    assert status == 200 and body["totals"]["tickets"] == 5
    assert body["start"] == "2026-11-15T17:00:00+00:00"
    status, page = await api.get("/api/reports/monthly?period=2026-11&format=html&lang=en",
                                 token=spv)
    assert status == 200 and "Monthly Report 2026-11" in page and "<svg" in page
    status, text = await api.get(
        "/api/reports/weekly?period=2026-W47&format=csv&table=calls112", token=spv)
    assert status == 200
    assert list(csv.reader(io.StringIO(text))) == [["close_reason", "calls", "share"],
                                                   ["prank", "1", "100.0"]]
    status, text = await api.get("/api/reports/yearly?period=2026&format=text&lang=en",
                                 token=spv)
    assert status == 200 and "Tickets received: 9." in text
    for query, field in [("weekly?period=2026-13", "period"),
                         ("weekly?period=2026-W47&format=pdf", "format"),
                         ("weekly?period=2026-W47&format=csv", "table"),
                         ("weekly?period=2026-W47&lang=fr", "lang"),
                         ("daily?period=2026", "kind")]:
        status, err = await api.get(f"/api/reports/{query}", token=spv)
        assert status == 400 and field in err["fields"], (query, err)
