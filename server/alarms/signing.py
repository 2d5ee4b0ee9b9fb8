"""Device request signing: HMAC-SHA256 over method, path, timestamp and body.

A device sends
  X-Pantau-Device:    its code
  X-Pantau-Timestamp: Unix time when it signed, e.g. 1764300000.123
  X-Pantau-Signature: hex HMAC-SHA256(secret, canonical)
  Idempotency-Key:    (alarms) one value per press, the same on every retry
where canonical = METHOD "\\n" PATH(+query) "\\n" TIMESTAMP "\\n" IDEMPOTENCY-KEY "\\n"
hex SHA-256(body), with an empty line when there is no Idempotency-Key.

Signing the body's hash (not the body) keeps the canonical form unambiguous;
signing the key means it cannot be swapped in flight. The timestamp (seconds,
with up to 6 decimals) bounds how long a captured request is worth anything, and
the signature itself is remembered for that window (device_request_nonces) so it
cannot be replayed inside it either. Retries re-sign with a fresh timestamp and
keep their Idempotency-Key, which is what makes a retry one alarm, not two.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from db.vault import ServerKey, VaultError, server_key
from server.alarms.config import config_of
from server.auth import (
    Principal,
    authenticate,
    forbidden,
    principal_key,
    requires,
    unauthorised,
)
from server.client_address import client_address
from server.errors import ApiError
from server.keys import pool_key, settings_key

log = logging.getLogger("pantau.devices")

DEVICE_HEADER = "X-Pantau-Device"
TIMESTAMP_HEADER = "X-Pantau-Timestamp"
SIGNATURE_HEADER = "X-Pantau-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_CODE = re.compile(r"^[a-z0-9_-]{2,60}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,6})?$")
# The verified request's signature, for the replay check in the handler's transaction.
signature_key = web.RequestKey("device_signature", str)


def canonical(method: str, path: str, timestamp: str, key: str, body: bytes) -> bytes:
    """The exact bytes both sides sign."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path}\n{timestamp}\n{key}\n{digest}".encode()


def sign(secret: str, method: str, path: str, timestamp: str, key: str, body: bytes) -> str:
    return hmac.new(secret.encode(), canonical(method, path, timestamp, key, body),
                    hashlib.sha256).hexdigest()


def signed_headers(code: str, secret: str, method: str, path: str, body: bytes,
                   *, key: str = "", now: float | None = None) -> dict[str, str]:
    """The headers a device adds to one request (used by the CLI, tests and bench)."""
    ts = f"{now if now is not None else time.time():.3f}"
    headers = {DEVICE_HEADER: code, TIMESTAMP_HEADER: ts,
               SIGNATURE_HEADER: sign(secret, method, path, ts, key, body),
               "Content-Type": "application/json"}
    if key:
        headers[IDEMPOTENCY_HEADER] = key
    return headers


def refuse(request: web.Request, error: ApiError, reason: str, code: str) -> ApiError:
    """Log every refused device request: a flood of them is an attack or a broken unit."""
    log.warning("device request refused", extra={
        "reason": reason, "device": code[:60], "path": request.path,
        "remote": client_address(request), "status": error.status})
    return error


async def authenticate_device(request: web.Request) -> Principal:
    """Verify a device-signed request and return its principal, or raise 401/403.

    Called from server.auth.authenticate when the request names a device. The
    replay check (the signature seen before) happens in the handler's transaction
    (lifecycle.touch_device), so a request whose work failed can be sent again.
    """
    code = request.headers.get(DEVICE_HEADER, "").strip()
    ts_raw = request.headers.get(TIMESTAMP_HEADER, "").strip()
    signature = request.headers.get(SIGNATURE_HEADER, "").strip().lower()
    if not code or not ts_raw or not signature:
        raise refuse(request, unauthorised("unsigned device request"), "unsigned", code)
    if not _CODE.match(code) or not _HEX64.match(signature):
        raise refuse(request, unauthorised("malformed device credentials"), "malformed", code)
    if not _TIMESTAMP.match(ts_raw):
        raise refuse(request, unauthorised("bad timestamp"), "bad_timestamp", code)
    ts = float(ts_raw)
    if abs(time.time() - ts) > config_of(request.app).clock_window_s:
        raise refuse(request, unauthorised("timestamp outside the allowed window; "
                                            "check the device clock"), "stale", code)
    row = await request.app[pool_key].fetchrow(
        "SELECT id, code, sealed_secret, enabled FROM devices WHERE code = $1", code)
    body = await request.read()
    # Open a sealed secret and compare a signature even for an unknown device, so
    # timing does not tell an attacker which device codes exist.
    try:
        vault = server_key(request.app[settings_key])
        secret = vault.open(row["sealed_secret"] if row is not None else _decoy(vault))
    except VaultError as exc:
        # The server's fault, not the device's: 503 keeps the unit retrying its
        # press until the operator restores the key, where 401 would say "bad secret".
        log.error("cannot open device secrets: %s", exc, extra={"device": code})
        raise ApiError(503, "server_key_unavailable",
                       "the server cannot read device secrets; retry shortly",
                       headers={"Retry-After": "5"}) from None
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    expected = sign(secret, request.method, request.raw_path, ts_raw, key, body)
    if not hmac.compare_digest(expected, signature) or row is None:
        reason = "unknown_device" if row is None else "bad_signature"
        raise refuse(request, unauthorised("signature does not verify"), reason, code)
    if not row["enabled"]:
        raise refuse(request, forbidden("device is disabled"), "disabled", code)
    principal = Principal("device", int(row["id"]), str(row["code"]))
    request[principal_key] = principal
    request[signature_key] = signature
    return principal


_decoys: dict[tuple[str, ...], str] = {}


def _decoy(vault: ServerKey) -> str:
    """A sealed throwaway secret under this key, opened for unknown devices."""
    sealed = _decoys.get(vault.keys)
    if sealed is None:
        _decoys.clear()
        sealed = _decoys[vault.keys] = vault.seal("unknown-device")
    return sealed


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def device_endpoint(handler: Handler) -> Handler:
    """`requires(kinds=("device",))`, plus a logged 401 for a request with no signature.

    Without the device headers the generic auth sees no credential at all; for a
    device endpoint that is itself worth a log line (a misconfigured unit, a probe).
    """
    inner = requires(kinds=("device",))(handler)

    @functools.wraps(inner)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if DEVICE_HEADER not in request.headers and await authenticate(request) is None:
            raise refuse(request, unauthorised("unsigned device request"), "unsigned", "")
        return await inner(request)

    return wrapper
