"""The aiohttp application factory; every resource with a lifetime is one cleanup_ctx."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from aiohttp import web

from db.orm import close_orm, init_orm, keep_session
from db.roles import superuser_warning
from server.alarms.scheduler import setup_alarms
from server.browser import hide_server_banner, security_headers
from server.cors import setup_cors
from server.errors import error_middleware
from server.events import routes as events
from server.events.hub import hub_ctx
from server.keys import pool_key, services_key, settings_key, streams_enabled_key
from server.ratelimit import rate_limits_ctx
from server.routes import alarms as alarm_routes
from server.routes import auth, board, cameras, health, people, wall
from server.routes import devices as device_routes
from server.routes import reports as report_routes
from server.routes import shifts as shift_routes
from server.routes import tickets as ticket_routes
from server.routes.open311 import open311_errors
from server.settings import Settings
from server.signin import password_pool_ctx
from server.tickets import calendar

log = logging.getLogger("pantau.server")
STATIC_DIR = Path(__file__).resolve().parent / "static"


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    await init_orm(settings.database_url, max_size=settings.db_pool_size)
    # A small raw pool for the hot paths (token lookup, event replay) that need
    # no ORM; both pools drop dead connections and reconnect on their own.
    app[pool_key] = await asyncpg.create_pool(
        settings.database_url, min_size=1, max_size=10,
        max_inactive_connection_lifetime=60, command_timeout=30, reset=keep_session)
    async with app[pool_key].acquire() as conn:
        problem = await superuser_warning(conn)
    if problem:
        log.warning(problem)
    yield
    await app[pool_key].close()
    await close_orm()


def create_app(settings: Settings, *, start_streams: bool = True) -> web.Application:
    # Open311's own error format inside ours: its clients parse nothing else.
    app = web.Application(middlewares=[error_middleware, open311_errors],
                          client_max_size=2 * 1024 * 1024)
    app[settings_key] = settings
    app[streams_enabled_key] = start_streams
    app[services_key] = {}
    calendar.use_city_holidays(settings.city_holidays)
    app.cleanup_ctx.extend([_database, hub_ctx, events.sockets_ctx, cameras.streams_ctx,
                            rate_limits_ctx, password_pool_ctx])
    app.on_shutdown.append(events.close_sockets)
    app.on_response_prepare.append(security_headers)
    hide_server_banner()
    # The pages' scripts and styles: files, so every page's CSP can forbid inline code.
    app.router.add_static("/static/", STATIC_DIR)
    for table in (health.routes, auth.routes, people.routes, events.routes, cameras.routes,
                  wall.routes):
        app.add_routes(table)
    # Panic alarms: their config and timers (after the database), their routes.
    setup_alarms(app)
    app.add_routes(alarm_routes.routes)
    app.add_routes(device_routes.routes)
    # Tickets: REST API, Open311, public form, department page, SLA scheduler.
    ticket_routes.setup(app)
    # Shifts, handovers and (supervisors') reports.
    app.add_routes(shift_routes.routes)
    app.add_routes(report_routes.routes)
    # The whole room at a glance, for the terminal operations wall.
    app.add_routes(board.routes)
    # Last, once every route exists: which of them pages on other origins may call.
    setup_cors(app, settings)
    return app
