"""People with roles, their bearer tokens, and Open311 API keys."""

from typing import Any

from tortoise import fields
from tortoise.contrib.postgres.fields import ArrayField
from tortoise.models import Model

from db.models.places import Department

ROLES = ("call_center", "expert", "police", "supervisor", "department", "admin")
OPERATOR_ROLES = ("call_center", "expert", "police", "supervisor", "admin")


class Person(Model):
    id = fields.IntField(primary_key=True)
    username = fields.TextField()
    full_name = fields.TextField()
    password_hash = fields.TextField()
    roles = ArrayField("text", default=list)
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", null=True, related_name="staff", db_constraint=False
    )
    phone = fields.TextField(default="")
    language = fields.TextField(default="id")
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "people"


class AuthToken(Model):
    id = fields.BigIntField(primary_key=True)
    token_hash = fields.TextField()
    kind = fields.TextField()
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", null=True, related_name="tokens", db_constraint=False
    )
    monitor: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Monitor", null=True, related_name="tokens", db_constraint=False
    )
    label = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "auth_tokens"


class ApiKey(Model):
    id = fields.IntField(primary_key=True)
    name = fields.TextField()
    key_hash = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"
