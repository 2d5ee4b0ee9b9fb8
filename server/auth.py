"""Who is calling: bearer tokens for people and wall displays, and the one
authorisation helper every handler goes through.

Every route handler is wrapped by `requires(...)` or marked `public`; the test
tests/test_route_auth.py fails for any handler that is neither.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from server.browser import SESSION_COOKIE, is_same_origin, needs_same_origin
from server.errors import ApiError
from server.keys import pool_key

log = logging.getLogger("pantau.auth")

ANY_OPERATOR = frozenset({"call_center", "expert", "police", "supervisor", "admin"})
SUPERVISORS = frozenset({"supervisor", "admin"})
ADMINS = frozenset({"admin"})
DEPARTMENT = frozenset({"department"})

TOKEN_PREFIX = "pt_"


def new_token() -> tuple[str, str]:
    """A fresh token and the hash we store (only the hash ever reaches the database)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The caller of a request, resolved from its credential."""

    kind: str  # "person" | "wall" | "device"
    id: int
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    department_id: int | None = None
    monitor_id: int | None = None
    token_id: int | None = None

    @property
    def actor(self) -> str:
        """How this principal is named in the event log."""
        return f"{self.kind}:{self.name}"

    @property
    def is_operator(self) -> bool:
        return self.kind == "person" and bool(self.roles & ANY_OPERATOR)

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & frozenset(roles))


principal_key = web.RequestKey("principal", Principal)


def unauthorised(message: str = "sign in first") -> ApiError:
    return ApiError(401, "unauthorised", message,
                    headers={"WWW-Authenticate": 'Bearer realm="pantau"'})


def forbidden(message: str = "your role may not do this") -> ApiError:
    return ApiError(403, "forbidden", message)


def cross_site() -> ApiError:
    return ApiError(403, "cross_site", "a request from another site may not act with this "
                    "browser's sign-in (Origin is not this server)")


def _credential(request: web.Request, cookie: bool) -> tuple[str, bool] | None:
    """(token, came from the cookie), or None: the bearer header first, then the
    session cookie where the route accepts it (see server/browser.py), then a
    WebSocket's `access_token` (clients that cannot set headers on a handshake)."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
        return (token, False) if token else None
    if cookie:
        # Browsers cannot set headers on WebSocket or <video> requests: the wall and
        # department pages hold the token in an HttpOnly cookie instead.
        value = request.cookies.get(SESSION_COOKIE)
        if value:
            return value, True
    if request.headers.get("Upgrade", "").lower() == "websocket":
        token = request.query.get("access_token", "")
        return (token, False) if token else None
    return None


_LOOKUP = """
SELECT t.id AS token_id, t.kind, t.expires_at, t.revoked_at,
       p.id AS person_id, p.username, p.roles, p.department_id, p.active,
       m.id AS monitor_id, m.code AS monitor_code
FROM auth_tokens t
LEFT JOIN people p ON p.id = t.person_id
LEFT JOIN monitors m ON m.id = t.monitor_id
WHERE t.token_hash = $1
"""


async def authenticate(request: web.Request, *, cookie: bool = False) -> Principal | None:
    """The request's principal, or None when it carries no credential; 401 on a bad one.

    `cookie`: the route is one a page of ours calls, so the session cookie counts
    too; a cookie-authenticated write or WebSocket from another origin is 403.
    """
    if principal_key in request:
        return request[principal_key]
    if "X-Pantau-Device" in request.headers:
        # Panic-button devices sign every request instead of holding a token.
        from server.alarms.signing import authenticate_device

        return await authenticate_device(request)
    found = _credential(request, cookie)
    if found is None:
        return None
    token, from_cookie = found
    if from_cookie and needs_same_origin(request) and not is_same_origin(request):
        log.warning("cross-site request refused", extra={
            "path": request.path, "method": request.method, "host": request.host,
            "origin": request.headers.get("Origin", "")[:200]})
        raise cross_site()
    row = await request.app[pool_key].fetchrow(_LOOKUP, token_hash(token))
    now = datetime.now(UTC)
    if row is None:
        raise unauthorised("unknown token")
    if row["revoked_at"] is not None:
        raise unauthorised("token revoked")
    if row["expires_at"] <= now:
        raise unauthorised("token expired")
    if row["kind"] == "person":
        if not row["active"]:
            raise unauthorised("account disabled")
        principal = Principal("person", row["person_id"], row["username"],
                              frozenset(row["roles"]), row["department_id"],
                              token_id=row["token_id"])
    else:
        principal = Principal("wall", row["monitor_id"], row["monitor_code"],
                              monitor_id=row["monitor_id"], token_id=row["token_id"])
    request[principal_key] = principal
    return principal


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def requires(*roles: str | frozenset[str], kinds: Iterable[str] = ("person",),
             cookie: bool = False) -> Callable[[Handler], Handler]:
    """Wrap a handler: 401 without a valid credential, 403 without one of `roles`.

    `roles` may be role names or role sets; no roles means any principal of
    an allowed kind. Walls and devices are listed in `kinds` where they may call.
    `cookie=True` only on routes the wall page or the department page call from
    the browser: elsewhere the session cookie is not a credential at all.
    """
    wanted: set[str] = set()
    for r in roles:
        wanted |= {r} if isinstance(r, str) else set(r)
    allowed_kinds = frozenset(kinds)

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            principal = await authenticate(request, cookie=cookie)
            if principal is None:
                raise unauthorised()
            if principal.kind not in allowed_kinds:
                raise forbidden(f"a {principal.kind} credential may not do this")
            if wanted and principal.kind == "person" and not principal.has_any(wanted):
                raise forbidden(f"needs one of the roles: {', '.join(sorted(wanted))}")
            return await handler(request)

        wrapper.__pantau_auth__ = {"roles": sorted(wanted), "kinds": sorted(allowed_kinds),  # type: ignore[attr-defined]
                                   "cookie": cookie}
        return wrapper

    return decorate


def public(handler: Handler) -> Handler:
    """Mark a handler as deliberately open (health, login, the public complaint form)."""
    handler.__pantau_auth__ = {"public": True}  # type: ignore[attr-defined]
    return handler


def principal_of(request: web.Request) -> Principal:
    return request[principal_key]


async def issue_person_token(pool: Any, person_id: int, ttl: timedelta,
                             label: str = "") -> tuple[str, datetime]:
    token, digest = new_token()
    expires = datetime.now(UTC) + ttl
    await pool.execute(
        "INSERT INTO auth_tokens (token_hash, kind, person_id, label, expires_at)"
        " VALUES ($1, 'person', $2, $3, $4)", digest, person_id, label, expires)
    return token, expires


async def issue_wall_token(pool: Any, monitor_id: int, ttl: timedelta,
                           label: str = "") -> tuple[str, datetime]:
    token, digest = new_token()
    expires = datetime.now(UTC) + ttl
    await pool.execute(
        "INSERT INTO auth_tokens (token_hash, kind, monitor_id, label, expires_at)"
        " VALUES ($1, 'wall', $2, $3, $4)", digest, monitor_id, label, expires)
    return token, expires
