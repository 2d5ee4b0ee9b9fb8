"""JSON error bodies for every failure, and 503 while the database is away."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from aiohttp import web
from tortoise.exceptions import DBConnectionError, OperationalError

from db.vault import VaultError

log = logging.getLogger("pantau.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(web.HTTPException):
    """An HTTP error whose body is {"error": code, "message": ..., "fields": {...}}."""

    def __init__(self, status: int, code: str, message: str,
                 fields: dict[str, str] | None = None, headers: dict[str, str] | None = None):
        self.status_code = status
        super().__init__(headers=headers)
        body: dict[str, Any] = {"error": code, "message": message}
        if fields:
            body["fields"] = fields
        self.body_json = body
        self.text = json.dumps(body)
        self.content_type = "application/json"


def bad_request(message: str, fields: dict[str, str] | None = None) -> ApiError:
    return ApiError(400, "bad_request", message, fields)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def conflict(message: str, code: str = "conflict") -> ApiError:
    return ApiError(409, code, message)


_DB_DOWN = (OSError, ConnectionError, asyncpg.exceptions.ConnectionDoesNotExistError,
            asyncpg.exceptions.CannotConnectNowError, asyncpg.exceptions.InterfaceError,
            asyncpg.exceptions.AdminShutdownError, DBConnectionError)


def is_db_down(exc: BaseException) -> bool:
    if isinstance(exc, _DB_DOWN):
        return True
    if isinstance(exc, OperationalError):
        cause = exc.__cause__ or exc.__context__
        return cause is not None and is_db_down(cause)
    return False


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError:
        raise
    except web.HTTPException as exc:
        if exc.content_type == "application/json" or exc.status < 400:
            raise
        # aiohttp's own 404/405/413: keep the status, give it a JSON body.
        return web.json_response(
            {"error": exc.reason.lower().replace(" ", "_"), "message": exc.reason},
            status=exc.status, headers={k: v for k, v in exc.headers.items()
                                        if k.lower() not in ("content-type", "content-length")})
    except VaultError as exc:
        # The server key is missing or wrong (db/vault.py): the operator's to fix.
        log.error("server key unavailable: %s", exc, extra={"path": request.path})
        return web.json_response(
            {"error": "server_key_unavailable",
             "message": "the server cannot seal or open secrets; retry shortly"},
            status=503, headers={"Retry-After": "5"})
    except Exception as exc:
        if is_db_down(exc):
            log.warning("database unavailable", extra={"path": request.path, "err": str(exc)})
            return web.json_response(
                {"error": "database_unavailable",
                 "message": "the database is not reachable; retry shortly"},
                status=503, headers={"Retry-After": "2"})
        log.exception("unhandled error", extra={"path": request.path})
        return web.json_response(
            {"error": "internal", "message": "internal server error"}, status=500)
