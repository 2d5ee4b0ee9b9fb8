"""Group commit: many concurrent requests' writes in one transaction.

A transaction per request costs its round trips and a WAL flush each; under a
burst (a hundred panic buttons, a flood of Open311 reports) that, not Python,
is what makes requests queue. A `GroupCommit` runs one batch at a time: the
requests that arrive while a batch is in Postgres wait for the next one, which
takes all of them (up to `max_batch`). An idle server never waits for company:
a lone request goes out at once as a batch of one.

`conflicts(item)` names what two items of one batch must not share (the same
press retried, the same signature replayed); a repeat waits for the batch after,
where it finds what the first one left. A batch whose transaction fails for any
reason but the database being away is split and each item retried alone, so
one bad item cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Generic, TypeVar

from server.errors import is_db_down

log = logging.getLogger("pantau.groupcommit")

I = TypeVar("I")  # noqa: E741 - an item
R = TypeVar("R")  # its result


class GroupCommit(Generic[I, R]):
    """`run(items)` writes a batch in one transaction and returns, per item, its
    result or the exception its request should get; it raises (having stored
    nothing) when the transaction fails."""

    def __init__(self, name: str,
                 run: Callable[[list[I]], Awaitable[Sequence[R | BaseException]]],
                 *, max_batch: int = 200,
                 conflicts: Callable[[I], Iterable[Hashable]] = lambda item: ()) -> None:
        self.name = name
        self._run_batch = run
        self.max_batch = max_batch
        self._conflicts = conflicts
        self._queue: deque[tuple[I, asyncio.Future[R]]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.batches = 0  # committed

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"pantau-{self.name}")

    async def stop(self) -> None:
        """Commit what is queued (those requests are owed an answer), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), 10)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, fut in self._queue:
            if not fut.done():
                fut.set_exception(ConnectionError("server shutting down"))
        self._queue.clear()

    async def submit(self, item: I) -> R:
        if self._task is None or self._task.done():
            raise RuntimeError(f"{self.name} is not running")
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, fut))
        self._wake.set()
        return await fut

    def _take(self) -> list[tuple[I, asyncio.Future[R]]]:
        batch: list[tuple[I, asyncio.Future[R]]] = []
        taken: set[Hashable] = set()
        later: deque[tuple[I, asyncio.Future[R]]] = deque()
        while self._queue and len(batch) < self.max_batch:
            item, fut = self._queue.popleft()
            if fut.done():  # its request went away
                continue
            keys = set(self._conflicts(item))
            if keys & taken:
                later.append((item, fut))
                continue
            taken |= keys
            batch.append((item, fut))
        self._queue.extendleft(reversed(later))
        return batch

    async def _loop(self) -> None:
        while True:
            if not self._queue:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._take()
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[I, asyncio.Future[R]]]) -> None:
        try:
            outcomes = await self._run_batch([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1 or is_db_down(exc):
                for _, fut in batch:
                    _settle(fut, exc)
                if not is_db_down(exc):
                    log.exception("write failed", extra={"batch": self.name})
                return
            log.warning("batch failed; retrying its items one by one",
                        extra={"batch": self.name, "items": len(batch), "err": str(exc)})
            for one in batch:
                await self._commit([one])
            return
        self.batches += 1
        for (_, fut), outcome in zip(batch, outcomes, strict=True):
            _settle(fut, outcome)


def _settle(fut: asyncio.Future[R], outcome: R | BaseException) -> None:
    if fut.done():
        return
    if isinstance(outcome, BaseException):
        fut.set_exception(outcome)
    else:
        fut.set_result(outcome)
