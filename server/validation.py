"""Small, explicit validators for request bodies: each failure names its field."""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

from server.errors import ApiError, bad_request

MAX_JSON_BYTES = 256 * 1024


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object ({} for an empty body).

    A body is JSON only when it says so (`Content-Type: application/json`): a
    cross-site form can send text/plain or form encoding, never this without a
    CORS preflight, so this is also half of the defence against cross-site
    writes (server/browser.py has the other half).
    """
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise ApiError(413, "too_large", f"body over {MAX_JSON_BYTES} bytes")
    raw = await request.read()
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(413, "too_large", f"body over {MAX_JSON_BYTES} bytes")
    if not raw:
        return {}
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       f"send the body as JSON with Content-Type: application/json "
                       f"(got {request.content_type or 'none'})")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise bad_request("body must be a JSON object")
    return data


class Fields:
    """Collects field errors so a client learns every problem in one answer."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}

    def text(self, name: str, *, required: bool = True, max_len: int = 200,
             min_len: int = 0, default: str = "") -> str:
        value = self.data.get(name)
        if value is None:
            if required:
                self.errors[name] = "required"
            return default
        if not isinstance(value, str):
            self.errors[name] = "must be a string"
            return default
        value = value.strip()
        if required and not value:
            self.errors[name] = "must not be empty"
        elif len(value) > max_len:
            self.errors[name] = f"at most {max_len} characters"
        elif len(value) < min_len:
            self.errors[name] = f"at least {min_len} characters"
        return value

    def integer(self, name: str, *, required: bool = True, lo: int | None = None,
                hi: int | None = None, default: int | None = None) -> int | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.errors[name] = "required"
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors[name] = "must be a whole number"
            return default
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.errors[name] = f"must be between {lo} and {hi}"
        return value

    def number(self, name: str, *, required: bool = True, lo: float | None = None,
               hi: float | None = None) -> float | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.errors[name] = "required"
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.errors[name] = "must be a number"
            return None
        # JSON as Python reads it admits NaN and Infinity, and 1e400 is infinite:
        # none is a place, an amount or anything Postgres' checks (or JSON) accept.
        try:
            number = float(value)
        except OverflowError:  # an integer of hundreds of digits
            number = math.inf
        if not math.isfinite(number):
            self.errors[name] = "must be a finite number"
            return None
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            self.errors[name] = f"must be between {lo} and {hi}"
        return number

    def boolean(self, name: str, *, required: bool = False, default: bool = False) -> bool:
        """true or false, nothing else: "no", 0 and "false" are refused, not guessed."""
        value = self.data.get(name)
        if value is None:
            if required:
                self.errors[name] = "required"
            return default
        if not isinstance(value, bool):
            self.errors[name] = "must be true or false"
            return default
        return value

    def choice(self, name: str, options: tuple[str, ...] | list[str], *, required: bool = True,
               default: str | None = None) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.errors[name] = "required"
            return default
        if value not in options:
            self.errors[name] = f"must be one of: {', '.join(options)}"
            return default
        return str(value)

    def string_list(self, name: str, options: tuple[str, ...] | None = None,
                    *, required: bool = True) -> list[str]:
        value = self.data.get(name)
        if value is None:
            if required:
                self.errors[name] = "required"
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.errors[name] = "must be a list of strings"
            return []
        if options is not None:
            bad = [v for v in value if v not in options]
            if bad:
                self.errors[name] = f"unknown: {', '.join(bad)}; allowed: {', '.join(options)}"
        return list(dict.fromkeys(value))

    def check(self) -> None:
        if self.errors:
            raise bad_request("invalid fields: " + ", ".join(sorted(self.errors)), self.errors)
