"""Typed application state (aiohttp AppKeys), declared in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg  # type: ignore[import-untyped]
from aiohttp import web

from server.settings import Settings

if TYPE_CHECKING:
    from server.events.hub import Hub

settings_key = web.AppKey("settings", Settings)
# False: the app runs without the camera relay (tests that need no video).
streams_enabled_key = web.AppKey("streams_enabled", bool)
pool_key = web.AppKey("pool", asyncpg.Pool)
hub_key: web.AppKey[Hub] = web.AppKey("hub")
# Subsystems registered by later parts (streams relay, schedulers) by name.
services_key = web.AppKey("services", dict[str, Any])
