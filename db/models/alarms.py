"""Panic-button devices and the alarms they raise."""

from tortoise import fields
from tortoise.models import Model

from db.models.people import Person
from db.models.places import District
from db.models.tickets import Ticket

ALARM_STATUSES = ("raised", "acknowledged", "dispatched", "resolved", "false_alarm")


class Device(Model):
    id = fields.IntField(primary_key=True)
    code = fields.TextField()
    owner_name = fields.TextField()
    owner_kind = fields.TextField(default="citizen")
    address = fields.TextField(default="")
    district: fields.ForeignKeyNullableRelation[District] = fields.ForeignKeyField(
        "models.District", null=True, related_name="devices", db_constraint=False
    )
    lat = fields.FloatField()
    lon = fields.FloatField()
    secret = fields.TextField()
    contacts: list = fields.JSONField(default=list)  # type: ignore[type-arg]
    enabled = fields.BooleanField(default=True)
    last_seen_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "devices"


class PanicAlarm(Model):
    id = fields.BigIntField(primary_key=True)
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name="alarms", db_constraint=False
    )
    ticket: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", null=True, related_name="alarms", db_constraint=False
    )
    idempotency_key = fields.TextField()
    status = fields.TextField(default="raised")
    lat = fields.FloatField()
    lon = fields.FloatField()
    raised_at = fields.DatetimeField(auto_now_add=True)
    acknowledged_at = fields.DatetimeField(null=True)
    acknowledged_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", null=True, related_name="acknowledged_alarms", db_constraint=False
    )
    dispatched_at = fields.DatetimeField(null=True)
    dispatch_unit = fields.TextField(default="")
    dispatch_note = fields.TextField(default="")
    resolved_at = fields.DatetimeField(null=True)
    escalation_level = fields.IntField(default=0)

    class Meta:
        table = "panic_alarms"
