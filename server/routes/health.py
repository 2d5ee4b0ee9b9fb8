"""GET /healthz: database and hub state, for load balancers and operators."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from server.auth import public
from server.keys import hub_key, pool_key

routes = web.RouteTableDef()


@routes.get("/healthz")
@public
async def healthz(request: web.Request) -> web.Response:
    pool = request.app[pool_key]
    started = time.perf_counter()
    db: dict[str, object]
    try:
        await asyncio.wait_for(pool.fetchval("SELECT 1"), 2)
        db = {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:
        db = {"ok": False, "error": str(exc) or type(exc).__name__}
    hub = request.app[hub_key].status()
    ok = bool(db["ok"]) and bool(hub["connected"])
    return web.json_response({"status": "ok" if ok else "degraded", "database": db, "hub": hub},
                             status=200 if ok else 503)
