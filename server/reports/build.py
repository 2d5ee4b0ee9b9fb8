"""One entry point for the CLI and the API: a period string in, figures out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from server.reports import render
from server.reports.figures import Figures, compute
from server.reports.periods import Period, parse, previous

FORMATS = ("html", "csv", "json", "text")


def period_of(kind: str, label: str | None) -> Period:
    """The named period, or the last complete one of that kind when none is named."""
    return parse(kind, label) if label else previous(kind)


async def figures(period: Period, as_of: datetime | None = None) -> Figures:
    return await compute(period, as_of)


def write(fig: Figures, out: Path, lang: str) -> list[Path]:
    """report.html, summary.txt, report.json and one CSV per table into `out`."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    files = {"report.html": render.html(fig, lang), "summary.txt": render.summary(fig, lang),
             "report.json": json.dumps(render.as_json(fig, lang), indent=2, default=str,
                                       ensure_ascii=False),
             **render.csv_files(fig, lang)}
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
