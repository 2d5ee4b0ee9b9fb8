"""The device registry: enrol, rotate a secret, disable, list, heartbeat, offline.

The secret is returned once, at enrolment or rotation, and never again: the
server keeps it only to verify signatures (HMAC needs the key itself, so it
cannot be stored as a one-way hash like tokens are), sealed under the server
key (db/vault.py), so the database never holds it in clear.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db import events
from db.models.alarms import CONTACT_CHANNELS
from db.settings import DatabaseSettings
from db.vault import ServerKey, VaultError, server_key
from server.alarms.lifecycle import device_back_online, touch_device

CODE = re.compile(r"^[a-z0-9_-]{2,60}$")
PHONE = re.compile(r"^\+?[0-9]{6,16}$")
OWNER_KINDS = ("citizen", "place")
MAX_CONTACTS = 10
SECRET_BYTES = 32


class DeviceError(ValueError):
    """A rule an enrolment or change breaks; the message is for the user."""

    def __init__(self, message: str, field: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class Enrolment:
    """What enrolling a device returns: its record and the secret, shown once."""

    device: dict[str, Any]
    secret: str


def new_secret() -> str:
    return "pds_" + secrets.token_urlsafe(SECRET_BYTES)


def validate_contacts(raw: object) -> list[dict[str, str]]:
    """[{name, phone, channel}] with every problem named; raises DeviceError."""
    if not isinstance(raw, list):
        raise DeviceError("contacts must be a list", "contacts")
    if len(raw) > MAX_CONTACTS:
        raise DeviceError(f"at most {MAX_CONTACTS} contacts", "contacts")
    out = []
    for i, c in enumerate(raw):
        if not isinstance(c, dict):
            raise DeviceError(f"contact {i + 1} must be an object", "contacts")
        name = c.get("name")
        phone = c.get("phone")
        channel = c.get("channel", "sms")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 80:
            raise DeviceError(f"contact {i + 1}: name of 1-80 characters", "contacts")
        if not isinstance(phone, str) or not PHONE.match(phone.replace(" ", "")):
            raise DeviceError(f"contact {i + 1}: phone like +628123456789", "contacts")
        if channel not in CONTACT_CHANNELS:
            raise DeviceError(f"contact {i + 1}: channel one of {', '.join(CONTACT_CHANNELS)}",
                              "contacts")
        out.append({"name": name.strip(), "phone": phone.replace(" ", ""), "channel": channel})
    return out


def device_state(row: dict[str, Any]) -> str:
    if not row["enabled"]:
        return "disabled"
    if row["offline_since"] is not None:
        return "offline"
    if row["last_seen_at"] is None:
        return "never_seen"
    return "online"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def device_json(row: dict[str, Any]) -> dict[str, Any]:
    """A device as the registry shows it; never the secret."""
    contacts = row["contacts"]
    if isinstance(contacts, str):
        contacts = json.loads(contacts)
    return {"id": row["id"], "code": row["code"], "owner_name": row["owner_name"],
            "owner_kind": row["owner_kind"], "address": row["address"],
            "district": row.get("district_code"), "lat": row["lat"], "lon": row["lon"],
            "contacts": contacts, "enabled": row["enabled"], "state": device_state(row),
            "last_seen_at": _iso(row["last_seen_at"]),
            "offline_since": _iso(row["offline_since"]),
            "secret_rotated_at": _iso(row["secret_rotated_at"]),
            "created_at": _iso(row["created_at"])}


_SELECT = """
SELECT d.id, d.code, d.owner_name, d.owner_kind, d.address, d.lat, d.lon, d.contacts,
       d.enabled, d.last_seen_at, d.offline_since, d.secret_rotated_at, d.created_at,
       di.code AS district_code
FROM devices d LEFT JOIN districts di ON di.id = d.district_id
"""


async def list_devices(conn: BaseDBAsyncClient) -> list[dict[str, Any]]:
    rows = await conn.execute_query_dict(_SELECT + " ORDER BY d.code")
    return [device_json(r) for r in rows]


async def get_device(conn: BaseDBAsyncClient, code: str) -> dict[str, Any] | None:
    rows = await conn.execute_query_dict(_SELECT + " WHERE d.code = $1", [code])
    return device_json(rows[0]) if rows else None


async def enrol(*, code: str, owner_name: str, lat: float, lon: float, owner_kind: str = "citizen",
                address: str = "", district_code: str | None = None,
                contacts: object = (), actor: str, secret: str | None = None,
                settings: DatabaseSettings | None = None) -> Enrolment:
    """Register a device and return its secret (the only time it is shown).

    `secret` is for the demo seed's published secrets only; real enrolments draw one.
    """
    code = code.strip().lower()
    if not CODE.match(code):
        raise DeviceError("code: 2-60 of a-z, 0-9, '_' or '-'", "code")
    if not owner_name.strip() or len(owner_name) > 120:
        raise DeviceError("owner name of 1-120 characters", "owner_name")
    if owner_kind not in OWNER_KINDS:
        raise DeviceError(f"owner kind one of {', '.join(OWNER_KINDS)}", "owner_kind")
    if not -90 <= lat <= 90:
        raise DeviceError("lat must be between -90 and 90", "lat")
    if not -180 <= lon <= 180:
        raise DeviceError("lon must be between -180 and 180", "lon")
    if len(address) > 300:
        raise DeviceError("address of at most 300 characters", "address")
    checked = validate_contacts(list(contacts) if isinstance(contacts, tuple) else contacts)
    secret = secret or new_secret()
    async with in_transaction() as tx:
        district_id = None
        if district_code:
            found = await tx.execute_query_dict(
                "SELECT id FROM districts WHERE code = $1", [district_code])
            if not found:
                raise DeviceError(f"unknown district {district_code!r}", "district")
            district_id = found[0]["id"]
        rows = await tx.execute_query_dict(
            "INSERT INTO devices (code, owner_name, owner_kind, address, district_id, lat, lon,"
            " sealed_secret, contacts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)"
            " ON CONFLICT (code) DO NOTHING RETURNING id",
            [code, owner_name.strip(), owner_kind, address.strip(), district_id, lat, lon,
             server_key(settings, create=True).seal(secret), json.dumps(checked)])
        if not rows:
            raise DeviceError(f"device {code!r} is already enrolled", "code", status=409)
        device = await get_device(tx, code)
        assert device is not None
        await events.append(tx, "device.enrolled", "device", device["id"], actor,
                            {"device": code, "owner_name": device["owner_name"],
                             "owner_kind": owner_kind, "district": district_code})
    return Enrolment(device, secret)


async def rotate_secret(code: str, *, actor: str, settings: DatabaseSettings | None = None
                        ) -> Enrolment:
    """A new secret; the old one stops verifying at once (a lost or cloned unit)."""
    secret = new_secret()
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(
            "UPDATE devices SET sealed_secret = $2, secret_rotated_at = now() WHERE code = $1"
            " RETURNING id", [code, server_key(settings, create=True).seal(secret)])
        if not rows:
            raise DeviceError(f"no device {code!r}", "code", status=404)
        device = await get_device(tx, code)
        assert device is not None
        await events.append(tx, "device.secret_rotated", "device", device["id"], actor,
                            {"device": code})
    return Enrolment(device, secret)


async def reseal_all(key: ServerKey) -> int:
    """Seal every device secret again with the newest server key, in one
    transaction (after `pantau secrets rotate-key` adds a key); returns how many.
    Raises VaultError, changing nothing, if any secret does not open."""
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(
            "SELECT id, sealed_secret FROM devices ORDER BY id FOR UPDATE")
        for r in rows:
            await tx.execute_query("UPDATE devices SET sealed_secret = $2 WHERE id = $1",
                                   [r["id"], key.reseal(r["sealed_secret"])])
    return len(rows)


async def unreadable_secrets(conn: BaseDBAsyncClient, key: ServerKey) -> list[str]:
    """Codes of the devices whose secret the key does not open (a wrong key file)."""
    rows = await conn.execute_query_dict("SELECT code, sealed_secret FROM devices ORDER BY code")
    bad = []
    for r in rows:
        try:
            key.open(r["sealed_secret"])
        except VaultError:
            bad.append(r["code"])
    return bad


async def check_server_key(settings: DatabaseSettings | None = None) -> str | None:
    """At start: a one-line reason the device secrets cannot be opened, or None.

    A lost or wrong key must be seen when the server starts, not at the first
    panic press (which it then answers 503, so the unit keeps retrying)."""
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict("SELECT count(*) AS n FROM devices")
        if not rows[0]["n"]:
            return None
        try:
            key = server_key(settings)
        except VaultError as exc:
            return str(exc)
        bad = await unreadable_secrets(tx, key)
    if bad:
        return (f"{len(bad)} of {rows[0]['n']} device secrets do not open with the server key"
                f" from {key.source} (e.g. {', '.join(bad[:3])}): wrong key file or"
                f" PANTAU_SECRET_KEY")
    return None


async def disable(code: str, *, actor: str) -> dict[str, Any]:
    """Refuse the device's requests from now on (403); its alarms stay on record."""
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(
            "UPDATE devices SET enabled = false, disabled_at = now() WHERE code = $1"
            " RETURNING id", [code])
        if not rows:
            raise DeviceError(f"no device {code!r}", "code", status=404)
        device = await get_device(tx, code)
        assert device is not None
        await events.append(tx, "device.disabled", "device", device["id"], actor,
                            {"device": code})
    return device


async def heartbeat(device_id: int, *, signature: str | None, actor: str) -> dict[str, Any]:
    """Record a sign of life; a device that was offline comes back (device.online)."""
    async with in_transaction() as tx:
        device = await touch_device(tx, device_id, signature)
        await device_back_online(tx, device, actor)
    return {"device": device["code"], "was_offline": device["was_offline_since"] is not None}


_OFFLINE = """
UPDATE devices SET offline_since = now()
WHERE id IN (
    SELECT id FROM devices
    WHERE enabled AND offline_since IS NULL
      AND COALESCE(last_seen_at, created_at) < now() - make_interval(secs => $1::float8)
    ORDER BY id LIMIT 200
    FOR UPDATE SKIP LOCKED)
  AND offline_since IS NULL
RETURNING id, code, owner_name, last_seen_at
"""


async def mark_offline(offline_after_s: float) -> int:
    """Devices silent too long become offline, each with a device.offline event.

    Conditional on `offline_since IS NULL` under a row lock, so with several server
    processes each device goes offline once.
    """
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(_OFFLINE, [offline_after_s])
        for r in rows:
            await events.append(tx, "device.offline", "device", r["id"], "system:scheduler",
                                {"device": r["code"], "owner_name": r["owner_name"],
                                 "last_seen_at": _iso(r["last_seen_at"])})
    return len(rows)
