"""The event log row. Rows are written only through db.events.append()."""

from tortoise import fields
from tortoise.models import Model


class Event(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.TextField()
    subject_type = fields.TextField()
    subject_id = fields.TextField()
    actor = fields.TextField()
    department_id = fields.IntField(null=True)
    payload: dict = fields.JSONField(default=dict)  # type: ignore[type-arg]
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "events"
