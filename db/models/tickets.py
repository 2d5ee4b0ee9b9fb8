"""Tickets (complaints, calls, alarms) and their notes."""

from tortoise import fields
from tortoise.contrib.postgres.fields import ArrayField
from tortoise.models import Model

from db.models.people import Person
from db.models.places import Category, Department, District

CHANNELS = ("open311", "web", "call112", "panic", "cctv", "walk_in")
STATUSES = ("new", "triaged", "routed", "acknowledged", "in_progress", "resolved", "closed",
            "rejected", "merged")
OPEN_STATUSES = ("new", "triaged", "routed", "acknowledged", "in_progress")


class Ticket(Model):
    id = fields.BigIntField(primary_key=True)
    reference = fields.TextField()
    channel = fields.TextField()
    category: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "models.Category", null=True, related_name="tickets", db_constraint=False
    )
    priority = fields.SmallIntField(default=3)
    status = fields.TextField(default="new")
    address = fields.TextField(default="")
    district: fields.ForeignKeyNullableRelation[District] = fields.ForeignKeyField(
        "models.District", null=True, related_name="tickets", db_constraint=False
    )
    lat = fields.FloatField(null=True)
    lon = fields.FloatField(null=True)
    reporter_name = fields.TextField(default="")
    reporter_phone = fields.TextField(default="")
    reporter_email = fields.TextField(default="")
    anonymous = fields.BooleanField(default=False)
    description = fields.TextField()
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", null=True, related_name="tickets", db_constraint=False
    )
    tags = ArrayField("text", default=list)
    flagged = fields.BooleanField(default=False)
    close_reason = fields.TextField(default="")
    ack_due_at = fields.DatetimeField(null=True)
    resolve_due_at = fields.DatetimeField(null=True)
    sla_paused_at = fields.DatetimeField(null=True)
    sla_paused_seconds = fields.IntField(default=0)
    # NULL: the verification clock runs from created_at (see server/tickets/sla.py).
    sla_started_at = fields.DatetimeField(null=True)
    routed_at = fields.DatetimeField(null=True)
    routed_paused_seconds = fields.IntField(default=0)
    ack_breached_at = fields.DatetimeField(null=True)
    resolve_breached_at = fields.DatetimeField(null=True)
    merged_from_status = fields.TextField(default="")
    attributes: dict = fields.JSONField(default=dict)  # type: ignore[type-arg]
    merged_into: fields.ForeignKeyNullableRelation["Ticket"] = fields.ForeignKeyField(
        "models.Ticket", null=True, related_name="merged_children", db_constraint=False
    )
    version = fields.IntField(default=1)
    created_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", null=True, related_name="created_tickets", db_constraint=False
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    acknowledged_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "tickets"


class TicketNote(Model):
    id = fields.BigIntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="notes", db_constraint=False
    )
    author: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", null=True, related_name="notes", db_constraint=False
    )
    body = fields.TextField()
    # Where the note was written; a merge moves notes to the master, unmerge back.
    origin_ticket: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", null=True, related_name="originated_notes", db_constraint=False
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ticket_notes"
