"""The alarm tasks inside every server process, as one cleanup_ctx.

The raiser (group commit of device presses) and the ticket linker behind it
(server/alarms/raising.py); one task for timers (escalation, devices going
offline, purging old replay nonces) and one that sends contact messages, so a
slow SMS gateway never delays an escalation. The last two only act through
conditional updates / SKIP LOCKED, so any number of server processes can run
them at once. While Postgres is away they log
and keep trying; nothing is held in memory that the database does not also hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from tortoise.transactions import in_transaction

from server.alarms.config import AlarmConfig, alarm_config_key
from server.alarms.contacts import send_due
from server.alarms.devices import check_server_key, mark_offline
from server.alarms.escalation import escalate_due
from server.alarms.lifecycle import link_missing_tickets
from server.alarms.raising import AlarmRaiser, TicketLinker
from server.keys import pool_key, settings_key

log = logging.getLogger("pantau.alarms")

outbox_wake_key = web.AppKey("alarm_outbox_wake", asyncio.Event)
raiser_key = web.AppKey("alarm_raiser", AlarmRaiser)
PURGE_EVERY_S = 10.0


def setup_alarms(app: web.Application) -> None:
    """Give the app its alarm configuration (from its settings unless already set)
    and the scheduler. Called by create_app; tests replace app[alarm_config_key]."""
    if alarm_config_key not in app:
        app[alarm_config_key] = AlarmConfig.from_settings(app[settings_key])
    app[outbox_wake_key] = asyncio.Event()
    app.cleanup_ctx.append(alarm_scheduler)


async def _guarded(name: str, work: Callable[[], Awaitable[object]], state: dict[str, bool]
                   ) -> None:
    """Run one pass; log a failure once per outage instead of once per tick."""
    try:
        await work()
        if state.get(name):
            log.info("alarm task recovered", extra={"task": name})
        state[name] = False
    except Exception as exc:
        if not state.get(name):
            log.warning("alarm task failed; retrying", extra={"task": name, "err": str(exc)})
        state[name] = True


async def _timers(cfg: AlarmConfig) -> None:
    failing: dict[str, bool] = {}
    last_purge = 0.0
    while True:
        await _guarded("escalate", lambda: escalate_due(cfg.escalate_after_s,
                                                        cfg.escalate_step_s), failing)
        await _guarded("offline", lambda: mark_offline(cfg.offline_after_s), failing)
        await _guarded("tickets", link_missing_tickets, failing)
        if time.monotonic() - last_purge >= PURGE_EVERY_S:
            last_purge = time.monotonic()
            await _guarded("purge", lambda: _purge_nonces(cfg.clock_window_s), failing)
        await asyncio.sleep(cfg.tick_s)


async def _purge_nonces(window_s: float) -> None:
    # Twice the window: a signature older than that is refused by its timestamp anyway.
    async with in_transaction() as tx:
        await tx.execute_query(
            "DELETE FROM device_request_nonces"
            " WHERE seen_at < now() - make_interval(secs => $1::float8)",
            [2 * window_s])


async def _sender(cfg: AlarmConfig, wake: asyncio.Event) -> None:
    failing: dict[str, bool] = {}
    while True:
        await _guarded("contacts", lambda: send_due(cfg.sender, max_attempts=cfg.send_attempts,
                                                    retry_s=cfg.send_retry_s), failing)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), cfg.tick_s)
        wake.clear()


async def alarm_scheduler(app: web.Application) -> AsyncIterator[None]:
    cfg = app[alarm_config_key]
    try:
        problem = await check_server_key(app[settings_key])
    except Exception as exc:  # the database may be away at start; the server still runs
        problem = None
        log.warning("could not check the server key", extra={"err": str(exc)})
    if problem:
        log.error("device requests will be refused (503) until the server key is restored: "
                  + problem)
    linker = TicketLinker()
    raiser = AlarmRaiser(app[pool_key], linker=linker)
    app[raiser_key] = raiser
    linker.start()
    raiser.start()
    tasks = [asyncio.create_task(_timers(cfg), name="pantau-alarm-timers"),
             asyncio.create_task(_sender(cfg, app[outbox_wake_key]), name="pantau-alarm-sender")]
    yield
    await raiser.stop()
    await linker.stop()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
