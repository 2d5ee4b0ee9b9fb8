"""Panic-button devices, the alarms they raise, replay nonces and the contact outbox.

Schema: db/migrations/0001_initial.sql and 0003_alarms.sql.
"""

from tortoise import fields
from tortoise.models import Model

from db.models.people import Person
from db.models.places import District
from db.models.tickets import Ticket

ALARM_STATUSES = ("raised", "acknowledged", "dispatched", "resolved", "false_alarm")
OPEN_ALARM_STATUSES = ("raised", "acknowledged", "dispatched")
NOTIFICATION_STATUSES = ("pending", "sent", "failed")
CONTACT_CHANNELS = ("sms", "whatsapp")


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
    # Sealed with the server key (db/vault.py); the database refuses plaintext.
    sealed_secret = fields.TextField()
    contacts: list = fields.JSONField(default=list)  # type: ignore[type-arg]
    enabled = fields.BooleanField(default=True)
    last_seen_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    offline_since = fields.DatetimeField(null=True)
    secret_rotated_at = fields.DatetimeField(null=True)
    disabled_at = fields.DatetimeField(null=True)

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
    dispatched_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", null=True, related_name="dispatched_alarms", db_constraint=False
    )
    dispatch_unit = fields.TextField(default="")
    dispatch_note = fields.TextField(default="")
    resolved_at = fields.DatetimeField(null=True)
    resolved_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", null=True, related_name="resolved_alarms", db_constraint=False
    )
    resolution_note = fields.TextField(default="")
    escalation_level = fields.IntField(default=0)
    escalated_at = fields.DatetimeField(null=True)
    nearest_cameras: list = fields.JSONField(default=list)  # type: ignore[type-arg]

    class Meta:
        table = "panic_alarms"


class DeviceRequestNonce(Model):
    """A signature already accepted; see server/alarms/signing.py."""

    id = fields.BigIntField(primary_key=True)
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name="nonces", db_constraint=False
    )
    signature = fields.TextField()
    seen_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "device_request_nonces"


class AlarmNotification(Model):
    """One message to one contact of the device owner (the outbox)."""

    id = fields.BigIntField(primary_key=True)
    alarm: fields.ForeignKeyRelation[PanicAlarm] = fields.ForeignKeyField(
        "models.PanicAlarm", related_name="notifications", db_constraint=False
    )
    contact_name = fields.TextField()
    channel = fields.TextField()
    address = fields.TextField()
    body = fields.TextField()
    status = fields.TextField(default="pending")
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(auto_now_add=True)
    last_error = fields.TextField(default="")
    sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "alarm_notifications"
