"""`pantau report weekly|monthly|yearly`: the mayor's reports from the command line.

Without --out the text summary is printed (or JSON with --json); with --out DIR
the HTML report, the summary, JSON and one CSV per table are written there.
Periods are Asia/Jakarta: --week 2026-W47, --month 2026-11, --year 2026; the
default is the last complete period.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from server.cli.common import (
    CONTEXT_SETTINGS,
    database,
    database_url_option,
    fail,
    run_async,
    with_orm,
)


@click.group("report", context_settings=CONTEXT_SETTINGS)
def report_group() -> None:
    """Weekly, monthly and yearly reports: HTML with charts, CSV, a text summary."""


def _make(kind: str, option: str, example: str) -> click.Command:
    @click.command(kind)
    @database_url_option
    @click.option(f"--{option}", "label", default=None, metavar=example,
                  help=f"The {option} (Asia/Jakarta), e.g. {example}; default: the last "
                       "complete one.")
    @click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Write report.html, summary.txt, report.json and CSVs into this folder.")
    @click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
    def command(database_url: str | None, label: str | None, out: Path | None, lang: str,
                as_json: bool) -> None:
        from server.reports import build, render
        from server.reports.periods import PeriodError

        try:
            period = build.period_of(kind, label)
        except PeriodError as exc:
            raise click.BadParameter(str(exc), param_hint=f"--{option}") from None
        with database(database_url) as db:
            fig = run_async(with_orm(db.url, lambda: build.figures(period)))
        if out is not None:
            try:
                written = build.write(fig, out, lang)
            except OSError as exc:
                raise fail(f"cannot write the report to {out}: {exc.strerror}") from None
            click.echo(f"wrote {len(written)} files to {out}:")
            for path in written:
                click.echo(f"  {path.name}")
        if as_json:
            click.echo(json.dumps(render.as_json(fig, lang), indent=2, default=str,
                                  ensure_ascii=False))
        elif out is None:
            click.echo(render.summary(fig, lang), nl=False)

    command.help = (f"The {kind} report for one {option} (e.g. --{option} {example}); "
                    "--out DIR for HTML and CSV files.")
    return command


report_group.add_command(_make("weekly", "week", "2026-W47"))
report_group.add_command(_make("monthly", "month", "2026-11"))
report_group.add_command(_make("yearly", "year", "2026"))

COMMANDS = [report_group]
