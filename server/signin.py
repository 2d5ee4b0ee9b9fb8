"""Signing in with a username and password, so that it can never delay an alarm.

Both doors (`POST /api/auth/login` for consoles and apps, `POST /dept/login` for
the department page) go through `sign_in`, which owns the whole rule:

- Rate limits first (server/ratelimit.py), before any work: failed sign-ins per
  client address, and attempts per address *and* account in growing windows. A
  guesser slows down only itself: the real user signing in from another address
  is never refused because of it, and a successful sign-in clears its own
  address+account count. There is no account lock an attacker could trigger.
- The argon2 check (db/passwords.py, tens of ms of CPU) runs in `PasswordPool`:
  a few worker threads (argon2-cffi releases the GIL) at a much lower CPU priority
  than the server, so the event loop and Postgres win the processor, and a bounded wait
  line: when it is full the attempt is refused at once (429) instead of queueing.
- Every refusal is logged with the username tried, the client address and the
  reason; never the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiohttp import web

from db import passwords
from server.client_address import client_address
from server.keys import pool_key, settings_key
from server.people import USERNAME
from server.ratelimit import Limited, Rule, address_key, limits_of

log = logging.getLogger("pantau.signin")
T = TypeVar("T")

# The password threads run this many nice steps below the server (Linux sets
# nice per thread): against one busy thread of the alarm path a check gets about
# a tenth of a core (CFS weights 110 vs 1024), so guessers take at most that much
# from alarms, and a sign-in on a saturated machine still finishes in about a
# second rather than starving (19 steps, weight 15, took several seconds).
WORKER_NICE_STEPS = 10


class SignInBusy(Exception):
    """Every password worker is busy and the wait line is full."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"sign-in is busy; retry in {retry_after} s")
        self.retry_after = retry_after


class SignInFailed(Exception):
    """Wrong username or password, or an account that may not use this door.

    `reason` is for the log only; the caller tells every failure the same thing.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _lower_priority() -> None:
    try:
        tid = threading.get_native_id()
        nice = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, nice + WORKER_NICE_STEPS))
    except (AttributeError, OSError):  # not Linux, or not permitted: run as we are
        log.debug("could not lower the password worker's priority")


class PasswordPool:
    """A bounded pool for argon2 work: `workers` threads plus `queue` waiting places."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self.pending = 0
        self._seconds = 0.1  # running mean of one job, for Retry-After
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="password",
                                            initializer=_lower_priority)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in a worker; SignInBusy when the wait line is full."""
        if self.pending >= self.capacity:
            wait = self.pending * self._seconds / self.workers
            raise SignInBusy(max(1, math.ceil(wait)))
        self.pending += 1
        started = time.perf_counter()

        def done(_: asyncio.Future[T]) -> None:
            self.pending -= 1
            self._seconds = 0.9 * self._seconds + 0.1 * (time.perf_counter() - started)

        future = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        # Released when the work ends, not when a cancelled caller stops waiting.
        future.add_done_callback(done)
        return await asyncio.shield(future)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


password_pool_key = web.AppKey("password_pool", PasswordPool)


async def password_pool_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    app[password_pool_key] = PasswordPool(settings.signin_workers, settings.signin_queue)
    yield
    app[password_pool_key].close()


def _account_key(username: str) -> str:
    # Names that cannot be accounts share one bucket per address, so spraying
    # random junk does not create a counter per guess.
    return username if USERNAME.match(username) else "(not a username)"


def _log_refusal(username: str, address: str, door: str, reason: str) -> None:
    # The text format prints only the message: the username goes in with repr()
    # so control characters in it cannot forge log lines.
    log.warning("sign-in refused: user %r from %s (%s)", username[:60], address, reason,
                extra={"username": username[:60], "address": address, "door": door,
                       "reason": reason})


_PERSON = ("SELECT id, username, full_name, password_hash, roles, department_id, language,"
           " active FROM people WHERE username = $1")


async def sign_in(request: web.Request, username: str, password: str, *, door: str,
                  allowed: Callable[[Any], bool] = lambda row: True) -> Any:
    """The person's row when `username` and `password` match an active account that
    `allowed` admits; otherwise SignInFailed, Limited or SignInBusy.

    `door` names the caller in the log ("api", "dept").
    """
    address = client_address(request)
    who = address_key(address)
    account = _account_key(username)
    limits = limits_of(request)
    try:
        await limits.test(Rule.SIGNIN_ADDRESS, who)
        await limits.hit(Rule.SIGNIN_ACCOUNT, who, account)
    except Limited as exc:
        _log_refusal(username, address, door, f"rate limited ({exc.rule})")
        raise
    row = None
    if USERNAME.match(username):
        row = await request.app[pool_key].fetchrow(_PERSON, username)
    stored = row["password_hash"] if row is not None else None
    pool = request.app[password_pool_key]
    try:
        ok = await pool.run(passwords.verify_password, stored, password)
    except SignInBusy:
        _log_refusal(username, address, door, "busy")
        await limits.hold()  # like every refusal: no answer to hammer on at once
        raise
    reason = _refusal(row, ok, allowed)
    if row is None or reason:
        with contextlib.suppress(Limited):  # already full (attempts raced past the test)
            await limits.hit(Rule.SIGNIN_ADDRESS, who)
        _log_refusal(username, address, door, reason)
        raise SignInFailed(reason)
    await limits.clear(Rule.SIGNIN_ACCOUNT, who, account)
    if stored is not None and passwords.needs_rehash(stored):
        await _rehash(request, pool, row["id"], stored, password)
    return row


def _refusal(row: Any, ok: bool, allowed: Callable[[Any], bool]) -> str:
    """Why a checked sign-in fails, for the log ("" when it succeeds)."""
    if row is None:
        return "unknown user"
    if not ok:
        return "wrong password"
    if not row["active"]:
        return "disabled"
    return "" if allowed(row) else "wrong door"


async def _rehash(request: web.Request, pool: PasswordPool, person_id: int, old: str,
                  password: str) -> None:
    """Store a hash with today's parameters; a busy pool just leaves it for next time."""
    try:
        new = await pool.run(passwords.hash_password, password)
    except SignInBusy:
        return
    await request.app[pool_key].execute(
        "UPDATE people SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
        new, person_id, old)
