"""Cross-origin use of the API, WHEP and Open311 by pages on other origins.

CORS here is for bearer tokens, api_keys and anonymous reads, never for the
session cookie: no response ever carries `Access-Control-Allow-Credentials`, so a
browser refuses to send cookies on a preflighted cross-origin request and hides
the answer of any credentialed one. The cookie's own rules (server/browser.py:
cookie routes only, same-origin writes) stay as they are; CORS adds readable
answers for other origins, it removes no check.

- `PANTAU_CORS_ORIGINS`: pages on these origins may call `/api/...` (not the wall
  page's own `/api/wall/...`), `/whep/...` and `/open311/...` (empty: none; `*`:
  any). Preflight answers POST, PUT, PATCH and DELETE with Authorization,
  Content-Type, If-Match and Idempotency-Key; answers expose Location, Link and
  ETag (WHEP), Retry-After and Allow.
- `PANTAU_CORS_OPEN311_ANY_ORIGIN`: Open311 reads (GET; public reports only,
  server/tickets/public.py) from any origin, for civic apps in the browser.

aiohttp-cors (aio-libs) does the Fetch standard's work per route; this module
only decides which routes and origins.
"""

from __future__ import annotations

import aiohttp_cors
from aiohttp import hdrs, web

from server.settings import Settings

# The preflight's handler, recognised by tests/test_route_auth.py: a preflight
# carries no credential and its answer says only what may be asked.
PREFLIGHT_HANDLER_NAME = "_preflight_handler"

EXPOSED = ("Location", "Link", "ETag", "Retry-After", "Allow")
REQUEST_HEADERS = ("Authorization", "Content-Type", "If-Match", "Idempotency-Key")
MAX_AGE = 600

_READ_ONLY = aiohttp_cors.ResourceOptions(
    allow_credentials=False, expose_headers=EXPOSED, allow_headers=("Content-Type",),
    allow_methods=("GET", "HEAD"), max_age=MAX_AGE)


def _shared(path: str) -> bool:
    """Routes other origins may call: the integrators' API, WHEP and Open311.
    Not the wall page's own routes (pairing, its credential) and not pages."""
    if path.startswith("/api/wall/") or path == "/api/events":
        return False
    return path.startswith(("/api/", "/whep/", "/open311/"))


def _options(methods: tuple[str, ...]) -> aiohttp_cors.ResourceOptions:
    return aiohttp_cors.ResourceOptions(
        allow_credentials=False, expose_headers=EXPOSED, allow_headers=REQUEST_HEADERS,
        allow_methods=methods, max_age=MAX_AGE)


def setup_cors(app: web.Application, settings: Settings) -> None:
    """Enable CORS on every shared route (after all routes are added).

    Routes are taken by path: aiohttp makes two resources for one path when its
    methods were added apart, and the preflight reaches only the first, so each
    path's preflight allows exactly the methods the path has. Open311's reads
    opened to any origin get their own per-method entry, so that never opens the
    POST on the same URL. WHEP needs OPTIONS on its URLs even with no origin
    allowed (the draft's MUST): the preflight then answers 403.
    """
    cors = aiohttp_cors.setup(app)
    by_path: dict[str, list[web.AbstractRoute]] = {}
    for route in list(app.router.routes()):
        if route.resource is None or route.method in (hdrs.METH_OPTIONS, hdrs.METH_HEAD) \
                or not _shared(route.resource.canonical):
            continue
        by_path.setdefault(route.resource.canonical, []).append(route)
    for path, routes in by_path.items():
        resources = list(dict.fromkeys(r.resource for r in routes if r.resource is not None))
        methods = tuple(sorted({r.method for r in routes}))
        allowed = {origin: _options(methods) for origin in settings.cors_origins}
        if path.startswith("/open311/") and settings.cors_open311_any_origin:
            for resource in resources:
                cors.add(resource, {})
            for route in routes:
                cors.add(route, {"*": _READ_ONLY} if route.method == hdrs.METH_GET
                         else dict(allowed))
        else:
            for resource in resources:
                cors.add(resource, dict(allowed))
    app.on_response_prepare.append(_vary_on_origin)


async def _vary_on_origin(request: web.Request, response: web.StreamResponse) -> None:
    """An answer whose Access-Control-Allow-Origin names the asking origin differs by
    Origin: say so, so no cache hands one origin's answer to another. A preflight
    of a WHEP endpoint also says what it takes (WHEP: Accept-Post)."""
    allowed = response.headers.get(hdrs.ACCESS_CONTROL_ALLOW_ORIGIN)
    if allowed and allowed != "*":
        response.headers.add(hdrs.VARY, hdrs.ORIGIN)
    if request.method == hdrs.METH_OPTIONS and request.path.startswith("/whep/cameras/"):
        response.headers["Accept-Post"] = "application/sdp"
