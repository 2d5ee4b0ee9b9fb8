"""Who may see which events, and the wall's view of everything it is shown.

Operators see everything. Department staff see only events tagged with their
department. Devices see nothing. Wall displays hang in a room visitors walk
through, so what reaches a wall is defined here, once, as an allow-list per
thing: every wall surface (the event stream and its replay, /api/alarms,
/api/board, /api/wall/summary, /api/cameras, the resync snapshot) goes through
these functions, and a field not listed here never reaches a wall.

A wall may watch (WHEP, snapshots) and list only the cameras of its own
monitor, plus the nearest cameras of an active alarm when its monitor shows
alarms (`wall_cameras`); its video of a camera ends when that stops being true.

A wall may show, while a panic alarm is active, the owner's name, the address,
the position and the nearest cameras (the command center puts them up so the
room can act); once the alarm is resolved or a false alarm, only its number,
status and times remain. A wall never receives phone numbers, contact lists,
dispatch notes or units, resolution notes, staff usernames (every event's actor
is blanked), ticket reporters or descriptions, or camera error texts (they can
carry a source URL with its password).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from functools import lru_cache
from typing import Any

from db.events import EventRecord
from server.auth import Principal
from server.tickets.records import SUMMARY_KEYS

WALL_KINDS = ("alarm.", "camera.", "monitor.", "shift.", "ticket.")
OPEN_ALARM = ("raised", "acknowledged", "dispatched")

# Ticket events: the summary every ticket event carries (counters, SLA board).
WALL_TICKET_FIELDS = SUMMARY_KEYS
# Shift events: the shift and its staffing counts, not who is on it.
WALL_SHIFT_FIELDS = ("shift", "role", "staffing", "shortfall", "handover_id", "status")
# Alarm events: the alarm (below) and what the step was, never its note or unit.
WALL_ALARM_EVENT_FIELDS = ("outcome", "level", "to", "ticket_reference")
WALL_CAMERA_EVENT_FIELDS = ("state", "profile", "code", "name")
WALL_MONITOR_EVENT_FIELDS = ("monitor", "position", "camera_id", "layout",
                             "rotation_seconds", "show_alarms")

# An alarm while it is active, and once it is closed (the person leaves the wall).
WALL_ALARM_ACTIVE = ("id", "status", "device", "owner_name", "owner_kind", "address",
                     "district_id", "lat", "lon", "raised_at", "acknowledged_at",
                     "dispatched_at", "escalation_level", "escalated_at", "nearest_cameras",
                     "ticket_reference")
WALL_ALARM_CLOSED = ("id", "status", "district_id", "raised_at", "acknowledged_at",
                     "dispatched_at", "resolved_at", "escalation_level", "ticket_reference")
WALL_NEAREST_CAMERA = ("code", "name", "distance_m")

# The shift as the wall page's strip shows it: is the room below its minimums?
WALL_STRIP_SHIFT = ("template", "name", "day", "status", "shortfall", "understaffed",
                    "understaffed_since")

WALL_CAMERA = ("id", "code", "name", "district", "lat", "lon", "source_kind", "enabled",
               "whep", "snapshot")
WALL_CAMERA_HEALTH = ("state", "online", "fps", "bitrate", "last_frame_at", "profile")


def may_see(principal: Principal, event: EventRecord) -> bool:
    if principal.kind == "person":
        if principal.is_operator:
            return True
        if "department" in principal.roles:
            return (event.department_id is not None
                    and event.department_id == principal.department_id)
        return False
    if principal.kind == "wall":
        return event.kind.startswith(WALL_KINDS)
    return False


def _keep(data: Any, fields: Iterable[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    return {k: data[k] for k in fields if k in data}


# -- things ------------------------------------------------------------------------


def wall_alarm(alarm: dict[str, Any], *, closed: bool | None = None) -> dict[str, Any]:
    """An alarm as a wall may show it; `closed` overrides what its status says
    (a replayed event about an alarm that has since been resolved)."""
    if closed is None:
        closed = alarm.get("status") not in OPEN_ALARM
    if closed:
        return _keep(alarm, WALL_ALARM_CLOSED)
    shown = _keep(alarm, WALL_ALARM_ACTIVE)
    if isinstance(shown.get("nearest_cameras"), list):
        shown["nearest_cameras"] = [_keep(c, WALL_NEAREST_CAMERA)
                                    for c in shown["nearest_cameras"]]
    return shown


def wall_alarms(alarms: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [wall_alarm(a) for a in alarms]


def wall_board(board: dict[str, Any]) -> dict[str, Any]:
    """The room's board (server/board.py) as a wall may show it."""
    shift = _keep(board.get("shift"), ("id", "template", "name", "day", "status", "staffing",
                                       "shortfall", "understaffed", "handover_pending"))
    return {"at": board["at"], "queue": board["queue"], "sla": board["sla"],
            "alarms": wall_alarms(board["alarms"]), "shift": shift}


def wall_summary(queue: dict[str, int], alarms: Iterable[dict[str, Any]],
                 shift: dict[str, Any] | None = None) -> dict[str, Any]:
    """The wall page's strip: queue counters, the active alarms, the shift's staffing."""
    return {"queue": dict(queue), "alarms": [wall_alarm(a) for a in alarms
                                             if a.get("status") in OPEN_ALARM],
            "shift": _keep(shift, WALL_STRIP_SHIFT)}


def wall_camera(camera: dict[str, Any]) -> dict[str, Any]:
    """A camera of /api/cameras as a wall may see it (no error text)."""
    shown = _keep(camera, WALL_CAMERA)
    shown["health"] = _keep(camera.get("health"), WALL_CAMERA_HEALTH)
    return shown


# Cameras a wall may watch: its monitor's, and an active alarm's nearest ones when
# the monitor shows alarms ($1 monitor ids, $2 the open alarm statuses).
_WALL_CAMERAS = """
SELECT mc.monitor_id, mc.camera_id FROM monitor_cameras mc
WHERE mc.monitor_id = ANY($1::int[])
UNION
SELECT m.id, c.id FROM monitors m
JOIN panic_alarms a ON a.status = ANY($2::text[])
CROSS JOIN LATERAL jsonb_array_elements(a.nearest_cameras) near
JOIN cameras c ON c.code = near->>'code'
WHERE m.id = ANY($1::int[]) AND m.show_alarms
"""


async def wall_cameras(pool: Any, monitor_ids: Collection[int]) -> dict[int, set[int]]:
    """Monitor id -> the camera ids a wall of that monitor may watch right now."""
    allowed: dict[int, set[int]] = {m: set() for m in monitor_ids}
    if allowed:
        for row in await pool.fetch(_WALL_CAMERAS, list(allowed), list(OPEN_ALARM)):
            allowed[row["monitor_id"]].add(row["camera_id"])
    return allowed


# -- events ------------------------------------------------------------------------


def wall_payload(kind: str, payload: dict[str, Any], *, alarm_closed: bool = False
                 ) -> dict[str, Any]:
    """An event's payload as a wall receives it."""
    if kind.startswith("ticket."):
        return _keep(payload, WALL_TICKET_FIELDS)
    if kind.startswith("shift."):
        return _keep(payload, WALL_SHIFT_FIELDS)
    if kind.startswith("alarm."):
        shown = _keep(payload, WALL_ALARM_EVENT_FIELDS)
        if isinstance(payload.get("alarm"), dict):
            shown["alarm"] = wall_alarm(payload["alarm"], closed=alarm_closed or None)
        return shown
    if kind.startswith("camera."):
        return _keep(payload, WALL_CAMERA_EVENT_FIELDS)
    if kind.startswith("monitor."):
        return _keep(payload, WALL_MONITOR_EVENT_FIELDS)
    return {}


def wall_event(event: EventRecord, *, alarm_closed: bool = False) -> dict[str, Any]:
    """The event as a wall receives it: the payload projected, no actor."""
    data = event.to_json()
    data["payload"] = wall_payload(event.kind, event.payload, alarm_closed=alarm_closed)
    data["actor"] = ""
    return data


@lru_cache(maxsize=512)
def _wall_wire(event: EventRecord, alarm_closed: bool) -> str:
    # Every wall gets the same text for an event: shape it once, not once per wall.
    return json.dumps({"type": "event", **wall_event(event, alarm_closed=alarm_closed)})


def wire_for(principal: Principal, event: EventRecord,
             closed_alarms: Collection[str] = ()) -> str:
    """The event message a subscriber that may see the event receives, as text.

    `closed_alarms` holds the subject ids of alarms closed by now: a replay sends
    old events, and a wall must not get back a name that has left it."""
    if principal.kind == "wall":
        return _wall_wire(event, event.subject_type == "alarm"
                          and event.subject_id in closed_alarms)
    return event.wire


_CLOSED_ALARMS = """
SELECT id::text FROM panic_alarms
WHERE id = ANY($1::bigint[]) AND NOT status = ANY($2::text[])
"""


async def closed_alarms(pool: Any, page: list[EventRecord]) -> set[str]:
    """Which alarms a replayed page speaks of are closed by now: a wall gets their
    old events without the owner's name, as it would the closing event."""
    ids = {int(e.subject_id) for e in page
           if e.subject_type == "alarm" and e.subject_id.isdigit()}
    if not ids:
        return set()
    return {r["id"] for r in await pool.fetch(_CLOSED_ALARMS, list(ids), list(OPEN_ALARM))}
