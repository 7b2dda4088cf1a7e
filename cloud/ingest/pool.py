"""Preparing fetched messages on several cores.

Decoding a batch, re-hashing its events and building its Arrow rows is pure CPU work per
message (`rows.prepare_messages`), and one Python process does it on one core. A fetch large
enough to be worth the hand-over is cut into contiguous slices, one per worker process, and
the results are put back in message order; a small fetch (a trickle of live events) is
prepared in place, where the round trip would cost more than it saves.

Workers are spawned (never forked: the parent holds ClickHouse and NATS threads) and leave
on their own when the ingest process is gone, even after a kill -9.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import structlog

from cloud.ingest.rows import Prepared, prepare_messages

log = structlog.get_logger(__name__)


class PreparePool:
    def __init__(self, workers: int, *, min_bytes: int = 256 * 1024) -> None:
        self.workers = workers
        self._min_bytes = min_bytes
        self._executor: ProcessPoolExecutor | None = None

    async def prepare(self, messages: Sequence[tuple[str, bytes]]) -> list[Prepared]:
        size = sum(len(data) for _, data in messages)
        if self.workers < 1 or size < self._min_bytes or len(messages) < 2:
            return prepare_messages(messages)
        executor = self._executor = self._executor or self._spawn()
        loop = asyncio.get_running_loop()
        slices = _slices(messages, self.workers, size)
        try:
            parts = await asyncio.gather(
                *(loop.run_in_executor(executor, prepare_messages, part) for part in slices)
            )
        except BrokenProcessPool:
            # A worker died (killed, out of memory): start afresh next time, do this one here.
            log.error("ingest.prepare_pool_broken", workers=self.workers)
            self.close()
            return prepare_messages(messages)
        return [prepared for part in parts for prepared in part]

    async def warm(self) -> None:
        """Start the workers now rather than on the first large fetch (each one imports
        pyarrow and msgspec: seconds a store's backlog would otherwise wait for)."""
        if self.workers < 1:
            return
        executor = self._executor = self._executor or self._spawn()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(BrokenProcessPool):
            await asyncio.gather(
                *(loop.run_in_executor(executor, _ready) for _ in range(self.workers))
            )

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _spawn(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_started,
            initargs=(os.getpid(),),
        )


def _slices(
    messages: Sequence[tuple[str, bytes]], parts: int, size: int
) -> list[list[tuple[str, bytes]]]:
    """Contiguous slices of about equal bytes, in order."""
    target = size / parts
    slices: list[list[tuple[str, bytes]]] = [[]]
    filled = 0
    for message in messages:
        if filled >= target and len(slices) < parts:
            slices.append([])
            filled = 0
        slices[-1].append(message)
        filled += len(message[1])
    return slices


def _ready() -> None:
    """Loads this module, hence the rows code, in a worker; busy for a moment, so that each
    of the warm-up calls starts a worker of its own."""
    time.sleep(0.2)


def _worker_started(parent_pid: int) -> None:
    # The worker allocates many short-lived, acyclic objects (decoded bodies): a young
    # generation this size keeps the collector from running every few hundred events.
    gc.set_threshold(50_000, 20, 20)
    threading.Thread(target=_leave_with, args=(parent_pid,), daemon=True).start()


def _leave_with(parent_pid: int) -> None:
    """A pool worker outlives a killed parent (it holds its own end of the task queue);
    notice the parent is gone and leave."""
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(0)
