"""Shift templates, staffing minimums, shifts and who works them."""

from tortoise import fields
from tortoise.models import Model

from db.models.people import Person

SHIFT_ROLES = ("call_center", "expert", "police", "supervisor")


class ShiftTemplate(Model):
    id = fields.IntField(primary_key=True)
    code = fields.TextField()
    name = fields.TextField()
    starts_at = fields.TimeField()
    ends_at = fields.TimeField()
    timezone = fields.TextField(default="Asia/Jakarta")

    class Meta:
        table = "shift_templates"


class StaffingMinimum(Model):
    id = fields.IntField(primary_key=True)
    template: fields.ForeignKeyRelation[ShiftTemplate] = fields.ForeignKeyField(
        "models.ShiftTemplate", related_name="minimums", db_constraint=False
    )
    role = fields.TextField()
    minimum = fields.IntField()

    class Meta:
        table = "staffing_minimums"


class Shift(Model):
    id = fields.IntField(primary_key=True)
    template: fields.ForeignKeyRelation[ShiftTemplate] = fields.ForeignKeyField(
        "models.ShiftTemplate", related_name="shifts", db_constraint=False
    )
    day = fields.DateField()
    status = fields.TextField(default="planned")
    opened_at = fields.DatetimeField(null=True)
    opened_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", null=True, related_name="opened_shifts", db_constraint=False
    )
    closed_at = fields.DatetimeField(null=True)
    closed_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", null=True, related_name="closed_shifts", db_constraint=False
    )
    # 0005: set while the open shift is below its minimums (see server/shifts/staffing.py).
    understaffed_since = fields.DatetimeField(null=True)
    shortfall: dict = fields.JSONField(default=dict)  # type: ignore[type-arg]

    class Meta:
        table = "shifts"


class ShiftAssignment(Model):
    id = fields.IntField(primary_key=True)
    shift: fields.ForeignKeyRelation[Shift] = fields.ForeignKeyField(
        "models.Shift", related_name="assignments", db_constraint=False
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="assignments", db_constraint=False
    )
    role = fields.TextField()
    checked_in_at = fields.DatetimeField(null=True)
    checked_out_at = fields.DatetimeField(null=True)
    swapped_from: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", null=True, related_name="swapped_away", db_constraint=False
    )
    assigned_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", null=True, related_name="assignments_made", db_constraint=False
    )

    class Meta:
        table = "shift_assignments"


class ShiftHandover(Model):
    """The note a closing shift leaves; the incoming supervisor acknowledges it."""

    id = fields.IntField(primary_key=True)
    shift: fields.ForeignKeyRelation[Shift] = fields.ForeignKeyField(
        "models.Shift", related_name="handover", db_constraint=False
    )
    next_shift: fields.ForeignKeyNullableRelation[Shift] = fields.ForeignKeyField(
        "models.Shift", null=True, related_name="incoming_handovers", db_constraint=False
    )
    written_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", null=True, related_name="handovers_written", db_constraint=False
    )
    notes = fields.TextField(default="")
    summary: dict = fields.JSONField(default=dict)  # type: ignore[type-arg]
    created_at = fields.DatetimeField(auto_now_add=True)
    acknowledged_at = fields.DatetimeField(null=True)
    acknowledged_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", null=True, related_name="handovers_acknowledged", db_constraint=False
    )

    class Meta:
        table = "shift_handovers"
