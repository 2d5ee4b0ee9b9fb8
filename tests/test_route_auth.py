"""Every route handler declares who may call it: `requires(...)` or `public`."""

from __future__ import annotations

from aiohttp import web

from server.app import STATIC_DIR, create_app
from server.cors import PREFLIGHT_HANDLER_NAME
from server.settings import Settings


def test_every_route_declares_its_authorisation() -> None:
    app = create_app(Settings(database_url="postgres://x@localhost/x"))
    undeclared = []
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        if isinstance(route.resource, web.StaticResource):
            # Public by nature: the pages' scripts and styles, nothing else.
            assert route.resource.get_info()["directory"] == STATIC_DIR
            assert {p.suffix for p in STATIC_DIR.iterdir()} <= {".js", ".css"}
            continue
        handler = route.handler
        if route.method == "OPTIONS" and \
                getattr(handler, "__name__", "") == PREFLIGHT_HANDLER_NAME:
            # CORS preflights (server/cors.py): no credential is ever sent with one,
            # and the answer says only which origins, methods and headers may ask.
            continue
        if not hasattr(handler, "__pantau_auth__"):
            where = route.resource.canonical if route.resource else "?"
            undeclared.append(f"{route.method} {where}")
    assert not undeclared, f"routes without requires()/public: {undeclared}"
