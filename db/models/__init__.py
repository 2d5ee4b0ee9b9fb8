"""Tortoise models mirroring db/migrations; the SQL files are the schema's truth and
tests/test_schema.py proves every model field has its column."""

from db.models.alarms import (
    ALARM_STATUSES,
    AlarmNotification,
    Device,
    DeviceRequestNonce,
    PanicAlarm,
)
from db.models.cameras import Camera, Monitor, MonitorCamera, WallPairing
from db.models.events import Event
from db.models.people import OPERATOR_ROLES, ROLES, ApiKey, AuthToken, Person
from db.models.places import Category, Department, District, RoutingRule
from db.models.shifts import (
    SHIFT_ROLES,
    Shift,
    ShiftAssignment,
    ShiftHandover,
    ShiftTemplate,
    StaffingMinimum,
)
from db.models.tickets import CHANNELS, OPEN_STATUSES, STATUSES, Ticket, TicketNote

__all__ = [
    "ALARM_STATUSES", "CHANNELS", "OPEN_STATUSES", "OPERATOR_ROLES", "ROLES", "SHIFT_ROLES",
    "STATUSES", "AlarmNotification", "ApiKey", "AuthToken", "Camera", "Category",
    "Department", "Device", "DeviceRequestNonce", "District", "Event", "Monitor",
    "MonitorCamera", "PanicAlarm", "Person", "RoutingRule", "Shift", "ShiftAssignment",
    "ShiftHandover", "ShiftTemplate", "StaffingMinimum", "Ticket", "TicketNote", "WallPairing",
]
