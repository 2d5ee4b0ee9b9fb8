"""The wall's panels. Each draws from WallState with Textual markup, so colour comes
from theme variables ($error, $warning, $success) and works in light and dark
themes. Names and addresses are escaped: they are data, not markup."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from textual.markup import escape
from textual.widgets import Static

from tui.i18n import language, t
from tui.opswall.state import WallState, age

JAKARTA = ZoneInfo("Asia/Jakarta")
STATUSES = ("new", "triaged", "routed", "acknowledged", "in_progress")


def _since(iso: str | None, now: datetime) -> str:
    if not iso:
        return "?"
    try:
        return age((now - datetime.fromisoformat(iso)).total_seconds())
    except ValueError:
        return "?"


class Panel(Static):
    """A titled box that redraws itself from the wall's state."""

    def __init__(self, title: str, **kw: Any) -> None:
        super().__init__("", **kw)
        self.border_title = title

    def draw(self, state: WallState, now: datetime) -> None:
        self.update(self.render_markup(state, now))

    def render_markup(self, state: WallState, now: datetime) -> str:
        raise NotImplementedError


class AlarmBanner(Static):
    """Every unacknowledged panic alarm: who, where, how long ago. Hidden when none."""

    MAX_LINES = 3

    def draw(self, state: WallState, now: datetime) -> None:
        alarms = state.unacknowledged()
        self.display = bool(alarms)
        lines = []
        for a in alarms[: self.MAX_LINES]:
            who = escape(str(a.get("owner_name") or a.get("device") or "?"))
            where = escape(str(a.get("address") or f"{a.get('lat')}, {a.get('lon')}"))
            lines.append(" " + t("wallterm.banner", who=who, where=where,
                                 age=_since(a.get("raised_at"), now)))
        if len(alarms) > self.MAX_LINES:
            lines.append(" " + t("wallterm.banner_more", n=len(alarms) - self.MAX_LINES))
        self.update("\n".join(lines))


class CountersPanel(Panel):
    def render_markup(self, state: WallState, now: datetime) -> str:
        if state.board is None:
            return t("wallterm.loading")
        q = state.board["queue"]
        prio = q["by_priority"]
        styles = {"1": "$error", "2": "$warning", "3": "$text", "4": "$text-muted"}
        head = f"[b]{t('wallterm.open')} {q['open']}[/b]   " + "  ".join(
            f"[{styles[p]}]P{p} [b]{prio.get(p, 0)}[/b][/]" for p in ("1", "2", "3", "4"))
        statuses = "  ".join(f"{t('wallterm.status.' + key)} [b]{q['by_status'].get(key, 0)}[/b]"
                             for key in STATUSES)
        oldest = q.get("oldest_unrouted")
        if oldest:
            tail = (f"{t('wallterm.oldest_unrouted')} [b]{escape(oldest['reference'])}[/b] "
                    f"(P{oldest['priority']}) [$warning]{age(oldest['age_seconds'])}[/]")
        else:
            tail = f"[$success]{t('wallterm.nothing_waiting')}[/]"
        return f"{head}\n{statuses}\n{tail}"


class AlarmsPanel(Panel):
    def render_markup(self, state: WallState, now: datetime) -> str:
        alarms = state.open_alarms()
        if not alarms:
            return f"[$success]{t('wallterm.no_alarms')}[/]"
        out = []
        for a in alarms[:8]:
            status = str(a.get("status"))
            style = "$error" if status == "raised" else "$warning"
            who = escape(str(a.get("owner_name") or a.get("device") or "?"))
            out.append(f"[{style}]{t('wallterm.alarm.' + status)[:12]:<12}[/] {who[:24]:<24} "
                       f"{escape(str(a.get('address') or ''))[:30]:<30} "
                       f"{_since(a.get('raised_at'), now):>7}")
        if len(alarms) > 8:
            out.append(t("wallterm.more", n=len(alarms) - 8))
        return "\n".join(out)


class SlaPanel(Panel):
    """Every department's open, overdue and due-within-the-hour tickets, most urgent
    first, in as many columns as the width allows; when even that does not fit,
    the last line says how many departments (and overdue tickets) are not shown."""

    CODE = 11  # POLRESTABES
    FIGURES = 5 + 8 + 5  # open, overdue, <1h
    MIN_NAME = 20
    GAP = 3

    def render_markup(self, state: WallState, now: datetime) -> str:
        if state.board is None:
            return t("wallterm.loading")
        rows = list(state.board["sla"])
        width = self.content_size.width or 60
        height = max(2, self.content_size.height or 12)
        cell_min = self.CODE + 1 + self.MIN_NAME + self.FIGURES
        cols = max(1, min(len(rows), (width + self.GAP) // (cell_min + self.GAP)))
        cell = (width - self.GAP * (cols - 1)) // cols
        longest = max((len(_name(r)) for r in rows), default=8)
        name_w = max(8, min(longest + 1, cell - self.CODE - 1 - self.FIGURES))
        per_col = height - 1  # under the header
        fits = cols * per_col
        cells = [self._cell(r, name_w) for r in rows]
        if len(rows) > fits:
            hidden = rows[fits - 1:]
            over = sum(r["overdue"] for r in hidden)
            more = (t("wallterm.more_departments", n=len(hidden), overdue=f"[$error]{over}[/]")
                    if over else t("wallterm.more_departments_none", n=len(hidden)))
            cells = [*cells[:fits - 1], more]
        head = (f"[b]{t('wallterm.col.department'):<{self.CODE + 1 + name_w}}"
                f"{t('wallterm.col.open'):>5}{t('wallterm.col.overdue'):>8}"
                f"{t('wallterm.col.within_hour'):>5}[/b]")
        used = max(1, min(cols, -(-len(cells) // per_col)))
        lines = [(" " * self.GAP).join([head] * used)]
        # Column-major: the most urgent read down the first column.
        for k in range(min(per_col, len(cells))):
            parts = [cells[c * per_col + k] for c in range(cols) if c * per_col + k < len(cells)]
            lines.append((" " * self.GAP).join(parts))
        return "\n".join(lines)

    def _cell(self, r: dict[str, Any], name_w: int) -> str:
        name = _name(r)
        if len(name) > name_w:
            name = name[:name_w - 1] + "…"
        code = str(r["code"]).upper()[:self.CODE]
        over, soon = r["overdue"], r["due_within_hour"]
        over_s = f"[$error]{over:>8}[/]" if over else f"{over:>8}"
        soon_s = f"[$warning]{soon:>5}[/]" if soon else f"{soon:>5}"
        return (f"[b]{escape(code):<{self.CODE}}[/b] {escape(name):<{name_w}}"
                f"{r['open']:>5}{over_s}{soon_s}")


def _name(department: dict[str, Any]) -> str:
    """A department's name in the wall's language."""
    name = department.get("name_en") if language() == "en" else department.get("name")
    return str(name or department.get("code") or "")


class ShiftPanel(Panel):
    def render_markup(self, state: WallState, now: datetime) -> str:
        if state.board is None:
            return t("wallterm.loading")
        s = state.board["shift"]
        head = (f"[b]{escape(str(s.get('name') or s.get('template')))}[/b] {s.get('day')} "
                f"({t('wallterm.shift_status.' + str(s.get('status')))})")
        lines = [head]
        for line in s.get("staffing", []):
            ok = line["present"] >= line["minimum"]
            style = "$success" if ok else "$error"
            lines.append(f"{t('role.' + str(line['role']))[:12]:<12} "
                         f"[{style}]{line['present']:>2}/{line['minimum']:<2}"
                         f"[/] {t('wallterm.on_duty', rostered=line['rostered'])}")
        if s.get("status") == "open" and s.get("understaffed"):
            lines.append(f"[$error]{t('wallterm.understaffed')}[/]")
        if s.get("handover_pending"):
            lines.append(f"[$warning]{t('wallterm.handover_waiting')}[/]")
        return "\n".join(lines)


class TickerPanel(Panel):
    def render_markup(self, state: WallState, now: datetime) -> str:
        if not state.ticker:
            return f"[$text-muted]{t('wallterm.waiting_events')}[/]"
        height = max(1, (self.size.height or 12) - 2)
        out = []
        for line in list(state.ticker)[:height]:
            style = "$error" if line.kind in ("alarm.raised", "alarm.escalated",
                                               "ticket.sla_breached") else "$text"
            clock = line.at.astimezone(JAKARTA).strftime("%H:%M:%S")
            out.append(f"[$text-muted]{clock}[/] [{style}]{escape(line.text)}[/]")
        return "\n".join(out)


class StatusBar(Static):
    """Clock, freshness of the data and the page being shown."""

    def draw(self, state: WallState, now: datetime, page: int, pages: int) -> None:
        local = now.astimezone(JAKARTA)
        clock = (f"{t(f'weekday.short.{local.isoweekday()}')} "
                 f"{local.strftime('%d/%m %H:%M:%S')} WIB")
        if state.live:
            fresh = f"[$success]{t('wallterm.live')}[/]"
        else:
            since = state.stale_since or now
            fresh = f"[$error]{t('wallterm.stale', age=age((now - since).total_seconds()))}[/]"
        paging = "   " + t("wallterm.page", page=page + 1, pages=pages) if pages > 1 else ""
        self.update(f" {t('wallterm.title')}   {clock}   {fresh}{paging}")


def utcnow() -> datetime:
    return datetime.now(UTC)
