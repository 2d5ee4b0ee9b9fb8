"""Cameras and the wall monitors that show them."""

from tortoise import fields
from tortoise.models import Model

from db.models.places import District


class Camera(Model):
    id = fields.IntField(primary_key=True)
    code = fields.TextField()
    name = fields.TextField()
    district: fields.ForeignKeyNullableRelation[District] = fields.ForeignKeyField(
        "models.District", null=True, related_name="cameras", db_constraint=False
    )
    lat = fields.FloatField()
    lon = fields.FloatField()
    source_kind = fields.TextField()
    source_url = fields.TextField(default="")
    enabled = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "cameras"


class Monitor(Model):
    id = fields.IntField(primary_key=True)
    code = fields.TextField()
    name = fields.TextField()
    layout = fields.TextField(default="2x2")
    rotation_seconds = fields.IntField(default=0)
    show_alarms = fields.BooleanField(default=True)
    language = fields.TextField(default="id")  # what its wall shows: "id" or "en"
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "monitors"


class MonitorCamera(Model):
    id = fields.IntField(primary_key=True)
    monitor: fields.ForeignKeyRelation[Monitor] = fields.ForeignKeyField(
        "models.Monitor", related_name="slots", db_constraint=False
    )
    camera: fields.ForeignKeyRelation[Camera] = fields.ForeignKeyField(
        "models.Camera", related_name="slots", db_constraint=False
    )
    position = fields.IntField()

    class Meta:
        table = "monitor_cameras"


class WallPairing(Model):
    """A kiosk's request to become a monitor's wall display (db/migrations/0004_walls.sql)."""

    id = fields.IntField(primary_key=True)
    code = fields.TextField()
    claim_hash = fields.TextField()
    requested_monitor = fields.TextField(default="")
    user_agent = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    monitor: fields.ForeignKeyNullableRelation[Monitor] = fields.ForeignKeyField(
        "models.Monitor", null=True, related_name="pairings", db_constraint=False)
    approved_at = fields.DatetimeField(null=True)
    approved_by = fields.TextField(default="")
    token_id = fields.BigIntField(null=True)
    claimed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "wall_pairings"
