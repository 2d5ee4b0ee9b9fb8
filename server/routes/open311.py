"""Open311 GeoReport v2 under /open311/v2/, so existing civic apps and client
libraries file and follow complaints unchanged.

Every path takes a `.json` or `.xml` suffix. Errors are the spec's error list
(`[{"code": 400, "description": ...}]` / `<errors><error>...`) with status
400 (bad input), 403 (missing or wrong api_key) or 404 (unknown service,
request or jurisdiction). The routes are public; POST checks the api_key
itself (only its SHA-256 is stored, like bearer tokens).

Reads show public reports only (server/tickets/public.py): never a panic alarm,
a 112 call or a ticket staff filed, and never a reporter's name or contact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from db.orm import conn
from server.auth import public
from server.client_address import client_address
from server.errors import ApiError, is_db_down
from server.keys import pool_key
from server.ratelimit import Limited, Rule, address_key, limits_of
from server.routes.tickets import file_ticket
from server.tickets import georeport
from server.tickets.intake import NewTicket
from server.tickets.public import PUBLIC_VIEW_SQL, new_status_key, status_path

log = logging.getLogger("pantau.open311")
routes = web.RouteTableDef()
PREFIX = "/open311/"
BASE = "/open311/v2"
FMT = "{fmt:json|xml}"
MAX_FORM_BYTES = 64 * 1024
MAX_ADDRESS_ID = 60
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _render(fmt: str, data: Any, root: str, item: str | None = None,
            status: int = 200) -> web.Response:
    if fmt == "xml":
        return web.Response(text=georeport.to_xml(root, data, item), status=status,
                            content_type="text/xml", charset="utf-8")
    return web.Response(text=json.dumps(data, ensure_ascii=False), status=status,
                        content_type="application/json", charset="utf-8")


def _error(fmt: str, status: int, description: str,
           headers: Mapping[str, str] | None = None) -> web.Response:
    response = _render(fmt, [{"code": status, "description": description}], "errors", "error",
                       status)
    response.headers.update(headers or {})
    return response


def _format_of(request: web.Request) -> str:
    """The format the client asked for: the route's `.xml`/`.json`, else the path's
    suffix (also for URLs no route matched), else JSON."""
    fmt = request.match_info.get("fmt")
    return fmt or ("xml" if request.path.lower().endswith(".xml") else "json")


# Headers of aiohttp's and our own errors worth keeping on the Open311 answer.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


@web.middleware
async def open311_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error under /open311/ in the spec's format, in the format asked for.

    Clients of GeoReport v2 parse `[{"code", "description"}]` (or `<errors>`) and
    nothing else: so also an unknown URL (404), a wrong method (405), a body over
    the server's limit (413), the database being away (503) and a bug (500), not
    only what the handlers themselves refuse.
    """
    if not request.path.startswith(PREFIX):
        return await handler(request)
    fmt = _format_of(request)
    try:
        return await handler(request)
    except Open311Error as exc:
        return _error(fmt, exc.status, exc.description)
    except Limited as exc:
        return _error(fmt, 429, f"too many requests without a valid api_key; retry in "
                                f"{exc.retry_after} s", {"Retry-After": str(exc.retry_after)})
    except ApiError as exc:
        body = exc.body_json
        fields = body.get("fields") or {}
        detail = "; ".join(f"{k}: {v}" for k, v in fields.items()) or body["message"]
        return _error(fmt, exc.status, detail, _kept(exc.headers))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 404:
            detail = (f"no Open311 resource at {request.path!r}; the endpoints are listed "
                      f"at {BASE}/discovery.json")
        elif exc.status == 405:
            detail = f"{request.method} is not allowed here; allowed: {exc.headers.get('Allow')}"
        else:
            detail = exc.reason
        return _error(fmt, exc.status, detail, _kept(exc.headers))
    except Exception as exc:
        if is_db_down(exc):
            log.warning("database unavailable", extra={"path": request.path, "err": str(exc)})
            return _error(fmt, 503, "the database is not reachable; retry shortly",
                          {"Retry-After": "2"})
        log.exception("unhandled error", extra={"path": request.path})
        return _error(fmt, 500, "internal server error")


def _kept(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: headers[k] for k in _KEPT_HEADERS if k in headers}


def _handles_errors(handler: Any) -> Any:
    """Refuse NUL and a foreign jurisdiction before the handler runs; the errors
    themselves become the spec's error list in `open311_errors`."""
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if any("\x00" in v for v in request.query.values()) or "\x00" in request.path:
            raise Open311Error(400, "parameters must not contain NUL characters")
        _jurisdiction(request)
        return await handler(request)  # type: ignore[no-any-return]

    wrapper.__name__ = handler.__name__
    wrapper.__doc__ = handler.__doc__
    return public(wrapper)


def _jurisdiction(request: web.Request) -> None:
    given = request.query.get("jurisdiction_id")
    if given and given != georeport.JURISDICTION:
        raise Open311Error(404, f"jurisdiction_id {given!r} not found; this endpoint serves "
                                f"{georeport.JURISDICTION}")


async def _categories(code: str | None = None) -> list[dict[str, Any]]:
    sql = ("SELECT c.*, d.name AS dept_name FROM categories c"
           " LEFT JOIN departments d ON d.id = c.department_id"
           # a category of one other channel (the panic button's) is no service
           " WHERE c.active AND (c.channel IS NULL OR c.channel = 'open311')")
    params: list[Any] = []
    if code is not None:
        sql += " AND c.code = $1"
        params.append(code)
    return await conn().execute_query_dict(sql + " ORDER BY c.code", params)


@routes.get(BASE + "/discovery." + FMT)
@_handles_errors
async def discovery(request: web.Request) -> web.Response:
    base = f"{request.scheme}://{request.host}{BASE}"
    return _render(request.match_info["fmt"], georeport.discovery(base), "discovery")


@routes.get(BASE + "/services." + FMT)
@_handles_errors
async def services(request: web.Request) -> web.Response:
    items = [georeport.service_json(c) for c in await _categories()]
    return _render(request.match_info["fmt"], items, "services", "service")


@routes.get(BASE + "/services/{code}." + FMT)
@_handles_errors
async def service_definition(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    if not await _categories(code):
        raise Open311Error(404, f"service_code {code!r} not found")
    data = {"service_code": code, "attributes": georeport.attributes_for(code)}
    return _render(request.match_info["fmt"], data, "service_definition")


def _float(form: Any, name: str, lo: float, hi: float, errors: dict[str, str]) -> float | None:
    raw = form.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(str(raw))
    except ValueError:
        errors[name] = "not a number"
        return None
    if not math.isfinite(value):  # float() reads "nan", "inf" and "1e400"
        errors[name] = "not a finite number"
        return None
    if not lo <= value <= hi:
        errors[name] = f"must be between {lo:g} and {hi:g}"
        return None
    return value


async def _check_key(request: web.Request, key: str) -> None:
    """403 for a missing or wrong key; an address that keeps sending them gets 429
    (Limited) before its next key is even looked at."""
    limits, who = limits_of(request), address_key(client_address(request))
    await limits.test(Rule.OPEN311_KEY, who)
    ok = False
    if key:
        digest = hashlib.sha256(key.encode()).hexdigest()
        ok = bool(await request.app[pool_key].fetchval(
            "SELECT 1 FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", digest))
    if not ok:
        with contextlib.suppress(Limited):  # concurrent failures filled it meanwhile
            await limits.hit(Rule.OPEN311_KEY, who)
        raise Open311Error(403, "api_key is not valid" if key else "api_key is required")


# Our field names as the spec calls them, for error messages.
_SPEC_NAMES = {"lon": "long", "reporter_phone": "phone", "reporter_email": "email",
               "reporter_name": "first_name", "address": "address_string",
               "district": "address_id"}


@routes.post(BASE + "/requests." + FMT)
@_handles_errors
async def post_request(request: web.Request) -> web.Response:
    """Create a service request (form-encoded, as the spec says)."""
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise Open311Error(400, f"request body over {MAX_FORM_BYTES} bytes")
    ctype = request.content_type
    if ctype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise Open311Error(400, "send the request form-encoded "
                                "(application/x-www-form-urlencoded)")
    try:
        form = await request.post()
    except (ValueError, UnicodeDecodeError) as exc:
        raise Open311Error(400, f"malformed form data: {exc}") from exc
    jurisdiction = str(form.get("jurisdiction_id", ""))
    if jurisdiction and jurisdiction != georeport.JURISDICTION:
        raise Open311Error(404, f"jurisdiction_id {jurisdiction!r} not found")
    # Several clients send the key in the query string, as for GETs.
    await _check_key(request, str(form.get("api_key") or request.query.get("api_key", "")))
    if any("\x00" in str(v) for v in form.values()):
        raise Open311Error(400, "form fields must not contain NUL characters")
    code = str(form.get("service_code", "")).strip()
    if not code:
        raise Open311Error(400, "service_code is required")
    errors: dict[str, str] = {}
    lat = _float(form, "lat", -90, 90, errors)
    lon = _float(form, "long", -180, 180, errors)
    if (lat is None) != (lon is None) and not errors:
        errors["lat" if lat is None else "long"] = "give both lat and long, or neither"
    address = str(form.get("address_string", "")).strip()
    # address_id names one of the city's known places: a district (kecamatan) code.
    address_id = str(form.get("address_id", "")).strip().lower() or None
    if address_id is not None and len(address_id) > MAX_ADDRESS_ID:
        errors["address_id"] = f"at most {MAX_ADDRESS_ID} characters"
        address_id = None
    if lat is None and lon is None and not address and not address_id \
            and "lat" not in errors and "long" not in errors:
        errors["location"] = "give lat and long, address_string or address_id"
    attributes = {k[len("attribute["):-1]: str(v) for k, v in form.items()
                  if k.startswith("attribute[") and k.endswith("]")}
    errors.update(georeport.check_attributes(code, attributes))
    name = " ".join(str(form.get(k, "")).strip() for k in ("first_name", "last_name")).strip()
    status_key, key_hash = new_status_key()
    # GeoReport v2 makes description optional: a category and a place are a report.
    new = NewTicket(channel="open311", description=str(form.get("description", "")),
                    category=code, address=address, lat=lat, lon=lon, district=address_id,
                    reporter_name=name, reporter_phone=str(form.get("phone", "")),
                    reporter_email=str(form.get("email", "")), attributes=attributes,
                    status_key_hash=key_hash, description_required=False)
    for key, value in new.check().items():
        errors.setdefault(_SPEC_NAMES.get(key, key), value)
    if {"lat", "long", "address_id"} & set(errors):
        errors.pop("location", None)  # the place given was wrong, not missing
    if errors:
        raise Open311Error(400, "; ".join(f"{k}: {v}" for k, v in sorted(errors.items())))
    try:
        ticket = await file_ticket(request, new, None, actor="open311")
    except ApiError as exc:
        fields = exc.body_json.get("fields") or {}
        if "category" in fields:
            raise Open311Error(404, f"service_code {code!r} not found") from exc
        if "district" in fields:
            raise Open311Error(400, f"address_id: {address_id!r} is not a known place (a "
                                    f"district code, e.g. 'coblong')") from exc
        raise
    # The spec's `token` is for servers that cannot name the request yet, so the
    # reporter's status link travels in the human-readable service_notice.
    link = f"{request.scheme}://{request.host}{status_path(ticket['reference'], status_key)}"
    body = [{"service_request_id": ticket["reference"],
             "service_notice": "Pantau laporan Anda di / follow your report at: " + link,
             "account_id": None}]
    return _render(request.match_info["fmt"], body, "service_requests", "request", 201)


# Dates a query may name: a city's reports are from this century, and the bounds
# leave room for the 90-day window arithmetic (year 1 or 9999 would overflow it).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)


def _parse_date(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name} is not an ISO 8601 date-time") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=georeport.JAKARTA)
    try:
        in_range = EARLIEST <= value <= LATEST
    except OverflowError:  # 0001-01-01 at +07:00 is before year 1 in UTC
        in_range = False
    if not in_range:
        raise Open311Error(400, f"{name} must be between {EARLIEST:%Y-%m-%d} and "
                                f"{LATEST:%Y-%m-%d}")
    return value


@routes.get(BASE + "/requests." + FMT)
@_handles_errors
async def get_requests(request: web.Request) -> web.Response:
    """Requests by id list, or by service code, date range (default 90 days) and status."""
    q = request.query
    params: list[Any] = []
    if q.get("service_request_id"):
        ids = [i.strip().upper() for i in q["service_request_id"].split(",") if i.strip()]
        if len(ids) > georeport.MAX_RECORDS:
            raise Open311Error(400, f"at most {georeport.MAX_RECORDS} service_request_id")
        where = "t.reference = ANY($1::text[])"
        params.append(ids)
    else:
        clauses = []
        end = _parse_date(q["end_date"], "end_date") if q.get("end_date") else None
        start = _parse_date(q["start_date"], "start_date") if q.get("start_date") else None
        if start and not end:
            end = start + timedelta(days=georeport.DEFAULT_DAYS)
        end = end or datetime.now(UTC)
        start = start or end - timedelta(days=georeport.DEFAULT_DAYS)
        if start > end:
            raise Open311Error(400, "start_date is after end_date")
        if end - start > timedelta(days=georeport.DEFAULT_DAYS):
            raise Open311Error(400, f"a date range spans at most {georeport.DEFAULT_DAYS} days")
        params += [start, end]
        clauses.append("t.created_at BETWEEN $1 AND $2")
        if q.get("service_code"):
            codes = [c.strip() for c in q["service_code"].split(",") if c.strip()]
            params.append(codes)
            clauses.append(f"c.code = ANY(${len(params)}::text[])")
        if q.get("status"):
            wanted = {s.strip() for s in q["status"].split(",") if s.strip()}
            if not wanted <= {"open", "closed"}:
                raise Open311Error(400, "status is open, closed or both (comma separated)")
            if wanted == {"open"}:
                clauses.append("t.status IN ('new','triaged','routed','acknowledged',"
                               "'in_progress')")
            elif wanted == {"closed"}:
                clauses.append("t.status IN ('resolved','closed','rejected','merged')")
        where = " AND ".join(clauses)
    rows = await conn().execute_query_dict(
        f"{PUBLIC_VIEW_SQL} AND {where} ORDER BY t.created_at DESC, t.id DESC"
        f" LIMIT {georeport.MAX_RECORDS}", params)
    items = [georeport.request_json(r) for r in rows]
    return _render(request.match_info["fmt"], items, "service_requests", "request")


@routes.get(BASE + "/requests/{id}." + FMT)
@_handles_errors
async def get_request(request: web.Request) -> web.Response:
    ref = request.match_info["id"].strip().upper()
    rows = await conn().execute_query_dict(f"{PUBLIC_VIEW_SQL} AND t.reference = $1", [ref])
    if not rows:
        raise Open311Error(404, f"service_request_id {ref!r} not found")
    return _render(request.match_info["fmt"], [georeport.request_json(rows[0])],
                   "service_requests", "request")
