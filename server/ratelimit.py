"""Rate limits for everything an anonymous or not-yet-signed-in caller can repeat.

One module owns them: the rules (what is counted, per what key, how many), the
storage behind them and the 429 answer. Handlers call `limits_of(request)` and
`hit`/`test`/`clear` a rule by name; they never build keys or storage themselves.

The counting is the `limits` package, not hand-made, with its moving window: exact
counts (no burst at a window's edge, a Retry-After that is the moment the oldest
counted hit leaves the window), for one small entry per counted hit. A rule is one or more windows
in its notation, e.g. "5/minute;10/10 minutes;20/hour": stacked windows are the
growing delays of sign-in (a few tries a minute, fewer per hour), never a lock.

A refused request is answered after a short hold (HOLD_SECONDS, for at most
MAX_HELD requests at a time): a client that retries the moment it is refused,
as brute-force tools do, then sends one request a second per connection instead
of thousands, and its refusals cost the event loop nothing while they wait. A
refusal answered at once cost about 0.7 ms of the server's CPU; three such
clients took a quarter of a core from the alarm path.

Storage: in this process's memory (`limits`' async MemoryStorage). Several
server processes therefore each count on their own, so a client that reaches N
processes gets N times the allowance; shared counting (in Postgres, issue 19)
replaces `_storage()` and nothing else. Counts are lost on restart.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from server.errors import ApiError
from server.keys import settings_key
from server.settings import Settings


class Rule(StrEnum):
    """What is counted; the README's configuration table gives each one's variable."""

    SIGNIN_ADDRESS = "signin_address"  # failed sign-ins from one address, any account
    SIGNIN_ACCOUNT = "signin_account"  # sign-in attempts from one address on one account
    PAIRING = "pairing"  # wall pairing codes requested from one address
    LAPOR = "lapor"  # public complaint form submissions from one address
    LAPOR_STATUS = "lapor_status"  # public status page lookups from one address
    OPEN311_KEY = "open311_key"  # Open311 POSTs with a missing or wrong api_key


def _rules(settings: Settings) -> dict[Rule, list[RateLimitItem]]:
    return {
        Rule.SIGNIN_ADDRESS: parse_many(settings.rate_signin_address),
        Rule.SIGNIN_ACCOUNT: parse_many(settings.rate_signin_account),
        Rule.PAIRING: parse_many(settings.rate_pairing),
        Rule.LAPOR: parse_many(settings.rate_lapor),
        Rule.LAPOR_STATUS: parse_many(settings.rate_lapor_status),
        Rule.OPEN311_KEY: parse_many(settings.rate_open311_key),
    }


class Limited(Exception):
    """A rule's allowance is used up; `retry_after` is whole seconds until the next try."""

    def __init__(self, rule: Rule, retry_after: int) -> None:
        super().__init__(f"{rule} limit reached; retry in {retry_after} s")
        self.rule = rule
        self.retry_after = retry_after


HOLD_SECONDS = 1.0
MAX_HELD = 500  # past this many waiting refusals, answer at once (a flood: the proxy's job)


def address_key(address: str) -> str:
    """The part of a client address a limit counts: an IPv6 client is its /64, which
    one subscriber usually holds whole (counting single addresses there would let
    one household rotate through 2^64 of them)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False).network_address) + "/64"
    return str(parsed)


def _storage() -> Storage:
    return MemoryStorage()


@dataclass
class RateLimits:
    """The rules and their counters for one server process.

    A counter's key starts with its rule's name: `limits` keys a window by its
    amount and length only, so two rules of the same rate ("10/minute" for /lapor
    and for Open311 keys) would otherwise count each other's hits.
    """

    rules: dict[Rule, list[RateLimitItem]]
    limiter: MovingWindowRateLimiter
    held: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(_rules(settings), MovingWindowRateLimiter(_storage()))

    async def _retry_after(self, rule: Rule, keys: tuple[str, ...]) -> int:
        now, wait = time.time(), 1.0
        for item in self.rules[rule]:
            stats = await self.limiter.get_window_stats(item, rule, *keys)
            if stats.remaining <= 0:
                wait = max(wait, stats.reset_time - now)
        return math.ceil(wait)

    async def hold(self) -> None:
        """Wait HOLD_SECONDS before a refusal is answered (unless MAX_HELD already wait)."""
        if self.held >= MAX_HELD:
            return
        self.held += 1
        try:
            await asyncio.sleep(HOLD_SECONDS)
        finally:
            self.held -= 1

    async def _refuse(self, rule: Rule, keys: tuple[str, ...]) -> Limited:
        refusal = Limited(rule, await self._retry_after(rule, keys))
        await self.hold()
        return refusal

    async def test(self, rule: Rule, *keys: str) -> None:
        """Raise Limited (after the hold) when one more hit would be refused; count nothing."""
        for item in self.rules[rule]:
            if not await self.limiter.test(item, rule, *keys):
                raise await self._refuse(rule, keys)

    async def hit(self, rule: Rule, *keys: str) -> None:
        """Count one hit, or raise Limited (and count nothing) when it is over the rule.

        Every window is tested before any is counted, so a refused hit does not
        use up the longer windows' allowance.
        """
        await self.test(rule, *keys)
        for item in self.rules[rule]:
            if not await self.limiter.hit(item, rule, *keys):  # a concurrent hit won the race
                raise await self._refuse(rule, keys)

    async def clear(self, rule: Rule, *keys: str) -> None:
        for item in self.rules[rule]:
            await self.limiter.clear(item, rule, *keys)


limits_key = web.AppKey("rate_limits", RateLimits)


def limits_of(request: web.Request) -> RateLimits:
    return request.app[limits_key]


async def rate_limits_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the counters live as long as the app (and start empty)."""
    app[limits_key] = RateLimits.from_settings(app[settings_key])
    yield
    storage = app[limits_key].limiter.storage
    await storage.reset()
    timer = getattr(storage, "timer", None)  # MemoryStorage's expiry sweep
    if timer is not None:
        timer.cancel()


def too_many(exc: Limited, message: str) -> ApiError:
    """The API's 429: the JSON error shape plus Retry-After."""
    return ApiError(429, "too_many_requests", f"{message}; retry in {exc.retry_after} s",
                    headers={"Retry-After": str(exc.retry_after)})
