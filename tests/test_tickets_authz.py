"""The authorisation matrix: every role x every ticket endpoint.

Operators (call_center, expert, police, supervisor, admin) may call everything;
department staff only read and act on (acknowledge, start, resolve, refuse,
notes) tickets routed to their own department; walls and devices get 403;
no credential gets 401. "Allowed" means the request got past authorisation:
any answer but 401/403 (a 409 for a transition the ticket cannot make is fine).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import asyncpg

from db.vault import server_key
from server.alarms.signing import signed_headers
from server.auth import issue_wall_token
from tests.conftest import Api

OPERATORS = ("operator", "ahli.pagi.01", "polisi.pagi.01", "supervisor", "admin")
DEPT_OK = {"list", "get", "history", "notes", "acknowledge", "start", "resolve", "refuse",
           "departments", "categories", "districts"}

BODY = {"version": 1, "note": "n", "reason": "prank", "body": "n"}
NEW = {"channel": "walk_in", "description": "Lampu mati", "address": "Jl. Braga",
       "category": "lampu-jalan"}
CALL = {"caller_number": "081234567890", "what_happened": "diam", "location": "Jl. Braga"}

# name -> (method, path with {id}, body)
ENDPOINTS: dict[str, tuple[str, str, Any]] = {
    "list": ("GET", "/api/tickets", None),
    "get": ("GET", "/api/tickets/{id}", None),
    "history": ("GET", "/api/tickets/{id}/history", None),
    "duplicates": ("GET", "/api/tickets/{id}/duplicates", None),
    "create": ("POST", "/api/tickets", NEW),
    "call": ("POST", "/api/calls", CALL),
    "close_call": ("POST", "/api/calls/{id}/close", BODY),
    "triage": ("POST", "/api/tickets/{id}/triage", BODY),
    "route": ("POST", "/api/tickets/{id}/route", BODY),
    "notes": ("POST", "/api/tickets/{id}/notes", BODY),
    **{a: ("POST", f"/api/tickets/{{id}}/{a}", BODY) for a in (
        "acknowledge", "start", "resolve", "close", "reject", "reopen", "refuse", "pause",
        "resume")},
    "merge": ("POST", "/api/tickets/{id}/merge", {**BODY, "into": 1}),
    "unmerge": ("POST", "/api/tickets/{id}/unmerge", {}),
    "bulk_merge": ("POST", "/api/tickets/merge", {"into": 1, "ids": [2]}),
    "departments": ("GET", "/api/departments", None),
    "categories": ("GET", "/api/categories", None),
    "districts": ("GET", "/api/districts", None),
}


async def _call(api: Api, name: str, ticket_id: int, headers: dict[str, str]) -> int:
    method, path, body = ENDPOINTS[name]
    path = path.format(id=ticket_id)
    data = json.dumps(body).encode() if body is not None else b""
    async with api.session.request(method, api.base + path, data=data or None,
                                   headers={"Content-Type": "application/json", **headers}
                                   ) as resp:
        await resp.read()
        return resp.status


async def test_every_role_against_every_ticket_endpoint(api: Api, db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        dsdabm = await conn.fetchval("SELECT id FROM departments WHERE code = 'dsdabm'")
        mine = await conn.fetchval(
            "SELECT id FROM tickets WHERE department_id = $1 ORDER BY id LIMIT 1", dsdabm)
        monitor = await conn.fetchval("SELECT id FROM monitors ORDER BY id LIMIT 1")
        await conn.execute(
            "INSERT INTO devices (code, owner_name, lat, lon, sealed_secret)"
            " VALUES ('authz-test', 'Toko', -6.9, 107.6, $1)", server_key().seal("sekret-device"))
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=1)
    try:
        wall_token, _ = await issue_wall_token(pool, monitor, timedelta(hours=1))
    finally:
        await pool.close()

    bearer: dict[str, dict[str, str]] = {"anonymous": {}, "wall": {
        "Authorization": f"Bearer {wall_token}"}}
    for user in (*OPERATORS, "dsdabm.staff", "dishub.staff"):
        bearer[user] = {"Authorization": f"Bearer {await api.login(user)}"}

    failures: list[str] = []
    for name, (method, path, body) in ENDPOINTS.items():
        for who, headers in bearer.items():
            status = await _call(api, name, mine, headers)
            if who == "anonymous":
                ok = status == 401
            elif who == "wall":
                ok = status == 403
            elif who in OPERATORS:
                ok = status not in (401, 403)
            elif who == "dsdabm.staff":
                ok = (status not in (401, 403)) if name in DEPT_OK else status == 403
            else:  # another department's staff: the ticket is not theirs
                if name in DEPT_OK and "{id}" not in path:
                    ok = status not in (401, 403)
                else:
                    ok = status in (403, 404)
            if not ok:
                failures.append(f"{who} {name}: {status}")
        # Devices sign each request instead of holding a token.
        real_path = path.format(id=mine)
        data = json.dumps(body).encode() if body is not None else b""
        headers = signed_headers("authz-test", "sekret-device", method, real_path, data)
        status = await _call(api, name, mine, headers)
        if status != 403:
            failures.append(f"device {name}: {status}")
    assert not failures, failures
