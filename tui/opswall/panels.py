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
    def render_markup(self, state: WallState, now: datetime) -> str:
        if state.board is None:
            return t("wallterm.loading")
        rows = state.board["sla"]
        lines = [f"[b]{t('wallterm.col.department'):<28} {t('wallterm.col.open'):>5} "
                 f"{t('wallterm.col.overdue'):>8} {t('wallterm.col.within_hour'):>5}[/b]"]
        for r in rows[: max(1, (self.size.height or 14) - 3)]:
            name = escape(str((r.get("name_en") if language() == "en" else r.get("name"))
                              or r["code"]))[:28]
            over = r["overdue"]
            soon = r["due_within_hour"]
            over_s = f"[$error]{over:>8}[/]" if over else f"{over:>8}"
            soon_s = f"[$warning]{soon:>5}[/]" if soon else f"{soon:>5}"
            lines.append(f"{name:<28} {r['open']:>5} {over_s} {soon_s}")
        return "\n".join(lines)


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
