"""Figures -> HTML (inline SVG charts), CSV per table, a text summary, JSON."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from datetime import date, timedelta
from html import escape
from typing import Any

from server.reports import svg
from server.reports.figures import Figures
from server.reports.i18n import WEEKDAYS, summary_lines, t
from server.reports.periods import JAKARTA

# Table order in the HTML, the CSV file names, and which get a chart.
ORDER = ("channels", "categories", "departments", "districts", "sla_departments",
         "response_times", "calls112", "alarms", "heatmap", "trend", "staffing",
         "staffing_shifts")
# A year has ~1,100 shifts: that table stays in the CSV and JSON, not the page.
HTML_ROW_LIMIT = 200
_ID_COLUMNS = {"category_id": "category", "department_id": "department",
               "district_id": "district"}


def _cell(fig: Figures, column: str, value: Any, lang: str) -> Any:
    if column in _ID_COLUMNS:
        if value is None:
            return t("none", lang)
        if value == "all":
            return t("all", lang)
        pair = fig.names[_ID_COLUMNS[column]].get(value)
        return (pair[0] if lang == "id" else pair[1]) if pair else str(value)
    if column in ("role", "measure", "status") or (column == "priority" and value == "all"):
        return t(str(value), lang)
    if column == "close_reason" and value == "-":
        return t("no_reason", lang)
    if column == "short_roles":
        return ", ".join(t(r, lang) for r in str(value).split())
    if column == "weekday":
        return WEEKDAYS[lang][int(value) - 1]
    return value


def rows(fig: Figures, name: str, lang: str) -> list[list[Any]]:
    """A table's rows with ids resolved to names in `lang`."""
    table = fig.tables[name]
    return [[_cell(fig, c, r[c], lang) for c in table.columns] for r in table.rows]


def csv_files(fig: Figures, lang: str) -> dict[str, str]:
    """`<table>.csv` -> content; headers are stable keys so scripts can rely on them."""
    out = {}
    for name in ORDER:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(fig.tables[name].columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows(fig, name, lang))
        out[f"{name}.csv"] = buf.getvalue()
    return out


def _local(fig: Figures) -> tuple[str, str]:
    p = fig.period
    return p.first_day.isoformat(), (p.end_day - timedelta(days=1)).isoformat()


def summary(fig: Figures, lang: str) -> str:
    """A few sentences a supervisor can paste into a message to the mayor's office."""
    s, tot = summary_lines(lang), fig.totals
    first, last = _local(fig)

    def fmt(v: Any) -> str:
        return "-" if v is None else f"{v:g}" if isinstance(v, float) else str(v)

    lines = [s["head"].format(title=t(fig.period.kind, lang), period=fig.period.label,
                              start=first, end=last),
             s["tickets"].format(tickets=tot["tickets"])]
    if tot["tickets"]:
        lines += [s["sla"].format(ack=fmt(tot["ack_compliance"]),
                                  resolve=fmt(tot["resolve_compliance"])),
                  s["times"].format(ack_min=fmt(tot["ack_p50_min"]),
                                    res_h=fmt(tot["resolve_p50_h"])),
                  s["calls"].format(calls=tot["calls112"], ne=tot["calls112_not_emergency"],
                                    share=fmt(tot["calls112_not_emergency_share"]))]
    else:
        # Said plainly rather than as "SLA compliance: -%" lines over nothing.
        lines.append(s["no_tickets"])
    lines.append(s["alarms"].format(alarms=tot["alarms"], ack_s=fmt(tot["alarm_ack_p50_s"])))
    if tot["busiest"]:
        b = tot["busiest"]
        lines.append(s["busiest"].format(day=WEEKDAYS[lang][b["weekday"] - 1], hour=b["hour"],
                                         n=b["tickets"]))
    lines.append(s["staffing"].format(n=tot["short_shift_roles"]))
    return "\n".join(lines) + "\n"


def _chart(fig: Figures, name: str, lang: str) -> str:
    table = fig.tables[name]
    if name in ("channels", "categories", "departments", "districts"):
        return svg.bars([(str(r[0]), float(r[1])) for r in rows(fig, name, lang)])
    if name == "sla_departments":
        return svg.bars([(str(r[0]), float(r[4])) for r in rows(fig, name, lang)
                         if r[4] is not None and r[0] != t("all", lang)])
    if name == "calls112":
        return svg.bars([(str(r[0]), float(r[1])) for r in rows(fig, name, lang)])
    if name == "heatmap":
        return svg.heatmap(fig.heatmap, WEEKDAYS[lang])
    if name == "trend":
        fmt = "%m" if fig.period.kind == "yearly" else "%d"
        return svg.columns([(date.fromisoformat(r["bucket"]).strftime(fmt), float(r["tickets"]))
                            for r in table.rows])
    return ""


def _html_table(fig: Figures, name: str, lang: str) -> str:
    table = fig.tables[name]
    if name == "heatmap":
        return ""  # the chart is the table; the numbers are in heatmap.csv
    body = rows(fig, name, lang)
    if not body:
        return f"<p>{escape(t('no_data', lang))}</p>"
    if len(body) > HTML_ROW_LIMIT:
        return f"<p>{escape(t('see_csv', lang, n=len(body), file=name + '.csv'))}</p>"
    head = "".join(f"<th>{escape(t(c, lang))}</th>" for c in table.columns)
    trs = "".join("<tr>" + "".join(
        f"<td>{'' if v is None else escape(str(v))}</td>" for v in r) + "</tr>" for r in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>"


_STYLE = """
body{font-family:sans-serif;max-width:60rem;margin:2rem auto;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
th{background:#f3f5f8}pre{background:#f6f6f6;padding:.75rem;white-space:pre-wrap}
"""
# The page's one inline <style>, named by hash in the CSP it is served with
# (the file a report writes must stand alone; the server still allows no other).
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()


def html(fig: Figures, lang: str) -> str:
    """One self-contained page: inline CSS and SVG, nothing fetched."""
    first, last = _local(fig)
    title = f"{t(fig.period.kind, lang)} {fig.period.label}"
    as_of = fig.as_of.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M")
    parts = [f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
             f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{escape(t('city', lang))}<br>{escape(title)}</h1>",
             f"<p>{escape(t('period', lang))}: {first} – {last}. "
             f"{escape(t('times_note', lang))} {as_of} WIB.</p>",
             f"<h2>{escape(t('summary', lang))}</h2><pre>{escape(summary(fig, lang))}</pre>"]
    for name in ORDER:
        parts.append(f'<h2 id="{name}">{escape(t(name, lang))}</h2>')
        parts.append(_chart(fig, name, lang))
        parts.append(_html_table(fig, name, lang))
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)


def as_json(fig: Figures, lang: str) -> dict[str, Any]:
    p = fig.period
    return {
        "kind": p.kind, "period": p.label, "timezone": "Asia/Jakarta",
        "start": p.start.isoformat(), "end": p.end.isoformat(), "as_of": fig.as_of.isoformat(),
        "totals": fig.totals,
        "tables": {name: {"columns": fig.tables[name].columns, "rows": rows(fig, name, lang)}
                   for name in ORDER},
        "summary": summary(fig, lang),
    }
