"""The city: districts (kecamatan), departments (SKPD), categories and routing rules."""

from tortoise import fields
from tortoise.models import Model


class District(Model):
    id = fields.IntField(primary_key=True)
    code = fields.TextField()
    name = fields.TextField()
    lat = fields.FloatField()
    lon = fields.FloatField()

    class Meta:
        table = "districts"


class Department(Model):
    id = fields.IntField(primary_key=True)
    code = fields.TextField()
    name = fields.TextField()
    name_en = fields.TextField(default="")
    sla_ack_minutes = fields.IntField(default=15)
    sla_dispatch_minutes = fields.IntField(default=30)
    sla_verify_days = fields.IntField(default=3)
    sla_resolve_days = fields.IntField(default=5)
    is_emergency_service = fields.BooleanField(default=False)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "departments"


class Category(Model):
    id = fields.IntField(primary_key=True)
    code = fields.TextField()
    name = fields.TextField()
    name_en = fields.TextField(default="")
    description = fields.TextField(default="")
    default_priority = fields.SmallIntField(default=3)
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", null=True, related_name="categories", db_constraint=False
    )
    active = fields.BooleanField(default=True)
    # The one channel that files tickets in this category (the panic button's
    # own); None: any channel.
    channel = fields.TextField(null=True)

    class Meta:
        table = "categories"


class RoutingRule(Model):
    id = fields.IntField(primary_key=True)
    category: fields.ForeignKeyRelation[Category] = fields.ForeignKeyField(
        "models.Category", related_name="routing_rules", db_constraint=False
    )
    district: fields.ForeignKeyNullableRelation[District] = fields.ForeignKeyField(
        "models.District", null=True, related_name="routing_rules", db_constraint=False
    )
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="routing_rules", db_constraint=False
    )

    class Meta:
        table = "routing_rules"
