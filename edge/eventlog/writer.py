"""The one writer of the store database.

Every change goes through here as a `Fact`: its state statements, its events (sealed onto the
hash chain) and their outbox rows commit in ONE SQLite transaction, or not at all. Facts that
arrive together share a transaction (group commit), each in its own savepoint, so one rejected
fact never takes its neighbours down and one fsync serves many scans.

The chain head is read inside each write transaction (under BEGIN IMMEDIATE), so an admin
command writing to the same file from another process can never fork the chain.

Speed: the connection's thread must take the GIL back after every sqlite3 call, and while the
event loop is busy with HTTP each take waits for a switch (up to `sys.getswitchinterval()`).
A batch therefore does its Python work (sealing: event ids, msgpack, SHA-256) on the event
loop against the head it last wrote, and the thread makes a handful of calls: BEGIN, read the
head, the facts' statements, ONE multi-row INSERT of the events, ONE INSERT of their outbox
rows, COMMIT. If the head moved (another process wrote) or a fact was rejected, the thread
seals again from the real head: slower, never wrong.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiosqlite
import msgspec
import structlog

from edge.errors import FatalError, Rejected, RetryableError, StorageUnavailable
from edge.telemetry import LatencyHistogram, LatencySnapshot, LatencySummary
from protocol.envelope import GENESIS_HASH, Envelope, encode_envelope, epoch_us, seal
from protocol.events import Event, event_type_name

log = structlog.get_logger(__name__)


class _FirstSeq:
    """Placeholder in statement parameters, replaced by the seq of the fact's first event."""

    def __repr__(self) -> str:
        return "FIRST_SEQ"


FIRST_SEQ: Any = _FirstSeq()

Statement = tuple[str, Sequence[Any]]
# A precondition run on the writer's connection inside the fact's savepoint (see Fact.check).
Check = Callable[[aiosqlite.Connection], Awaitable["Fact | None"]]


@dataclass(frozen=True, slots=True)
class Fact:
    """One business fact: the events that record it and the state changes they imply.

    `check`, if given, runs on the writer's connection inside the fact's savepoint, before its
    statements, so it sees every fact committed or applied before it (a sale's stock check, a
    client id's idempotency). It may raise Rejected (the fact is dropped: nothing written) or
    return a replacement Fact whose events and statements were decided against that state.
    """

    events: tuple[Event, ...]
    occurred_at: datetime
    device_id: str
    operator_id: str = ""
    statements: tuple[Statement, ...] = ()
    check: Check | None = None


@dataclass(slots=True)
class _Job:
    fact: Fact | None  # None: housekeeping `statements` without events
    future: asyncio.Future[Any]
    statements: tuple[Statement, ...] = ()


@dataclass(slots=True)
class _Batch:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    outcomes: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class _Plan:
    """A batch sealed on the event loop, valid if the chain head is still `after`."""

    after: tuple[int, bytes]
    # Per job: its envelopes and rows, or None for housekeeping.
    sealed: list[tuple[tuple[Envelope, ...], list[tuple[Any, ...]]] | None]


class WriterStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What the writer has done since start, and how long it took (edge/telemetry.py).

    `commit` is one transaction, from taking a batch off the queue to handing its outcomes
    back (sealing, the hop to SQLite's thread, the statements, the fsync); `fact_wait` is
    what each caller waited, from queueing its fact to its being durable (queue + commit).
    """

    commits: int
    facts: int
    events: int
    rejected: int
    queued: int
    queued_max: int
    facts_per_commit: float
    commit: LatencySummary
    fact_wait: LatencySummary


_STOP = object()
_HEAD_SQL = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
_INSERT_EVENT = (
    "INSERT INTO events(seq, event_id, type, occurred_at_us, recorded_at_us, hash, envelope)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_OUTBOX = "INSERT INTO outbox(seq) VALUES (?)"
# Every event of a batch gets its outbox row in one statement.
_INSERT_OUTBOX_RANGE = "INSERT INTO outbox(seq) SELECT seq FROM events WHERE seq BETWEEN ? AND ?"
_ROWS_PER_INSERT = 256
_insert_events_sql: dict[int, str] = {}


def _insert_events(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """All rows in as few statements as possible: executemany would release and retake the
    GIL once per row."""
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        sql = _insert_events_sql.get(len(chunk))
        if sql is None:
            values = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
            sql = _insert_events_sql[len(chunk)] = (
                "INSERT INTO events(seq, event_id, type, occurred_at_us, recorded_at_us, hash,"
                f" envelope) VALUES {values}"
            )
        conn.execute(sql, [value for row in chunk for value in row])


class EventLogWriter:
    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        store_id: str,
        clock: Callable[[], datetime],
        new_event_id: Callable[[datetime], uuid.UUID],
        batch_max: int = 256,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self._conn = conn
        self._store_id = store_id
        self._clock = clock
        self._new_event_id = new_event_id
        self._batch_max = batch_max
        self._on_commit = on_commit
        self._queue: asyncio.Queue[_Job | object] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # (seq, hash) of the last event this writer committed; None: unknown, read it.
        self._head: tuple[int, bytes] | None = None
        self.commit_time = LatencyHistogram()
        self.fact_wait = LatencyHistogram()
        self._facts = 0
        self._events = 0
        self._rejected = 0
        self._queued_max = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"eventlog-writer:{self._store_id}")

    async def stop(self) -> None:
        """Commit what is queued, then stop. Later calls get a retryable error."""
        if self._task is None:
            return
        self._closing = True
        await self._queue.put(_STOP)
        await self._task
        self._task = None

    async def record(self, fact: Fact) -> tuple[Envelope, ...]:
        """Commit a fact; returns its sealed envelopes once they are durable."""
        queued_at = time.perf_counter()
        try:
            return await self._submit(_Job(fact=fact, future=self._new_future()))  # type: ignore[no-any-return]
        finally:
            self.fact_wait.record(time.perf_counter() - queued_at)

    def status(self) -> WriterStatus:
        commits = self.commit_time.count
        return WriterStatus(
            commits=commits,
            facts=self._facts,
            events=self._events,
            rejected=self._rejected,
            queued=self._queue.qsize(),
            queued_max=self._queued_max,
            facts_per_commit=round(self._facts / commits, 2) if commits else 0.0,
            commit=self.commit_time.snapshot().summary(),
            fact_wait=self.fact_wait.snapshot().summary(),
        )

    def histograms(self) -> dict[str, LatencySnapshot]:
        """The writer's cumulative histograms, by name (for diffing two readings)."""
        return {"commit": self.commit_time.snapshot(), "fact_wait": self.fact_wait.snapshot()}

    async def acknowledge_published(self, up_to_seq: int) -> None:
        """JetStream stored every event up to `up_to_seq`: drop them from the outbox."""
        await self.housekeeping((("DELETE FROM outbox WHERE seq <= ?", (up_to_seq,)),))

    async def housekeeping(self, statements: tuple[Statement, ...]) -> None:
        """Bookkeeping writes that record no business fact (outbox, transport marks, pruning),
        serialized with every other write."""
        await self._submit(_Job(fact=None, future=self._new_future(), statements=statements))

    def _new_future(self) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    async def _submit(self, job: _Job) -> Any:
        if self._closing or self._task is None:
            raise RetryableError("the event log is not accepting writes (shutting down)")
        await self._queue.put(job)
        self._queued_max = max(self._queued_max, self._queue.qsize())
        return await job.future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            item = await self._queue.get()
            jobs: list[_Job] = []
            if item is _STOP:
                stopping = True
            else:
                assert isinstance(item, _Job)
                jobs.append(item)
            while len(jobs) < self._batch_max and not self._queue.empty():
                more = self._queue.get_nowait()
                if more is _STOP:
                    stopping = True
                    continue
                assert isinstance(more, _Job)
                jobs.append(more)
            if jobs:
                await self._commit(jobs)

    async def _commit(self, jobs: list[_Job]) -> None:
        conn = self._conn
        started = time.perf_counter()
        recorded_at = self._clock()
        try:
            if any(job.fact is not None and job.fact.check is not None for job in jobs):
                self._head = None
                batch, last_seq = await self._commit_stepwise(jobs, recorded_at)
            else:
                plan = self._plan(jobs, recorded_at)
                # The whole transaction in one hop to the connection's own thread: each
                # aiosqlite call is a thread round trip, and a batch would otherwise make
                # several per fact. (`_execute` is how aiosqlite runs its own methods.)
                batch, last_seq, self._head = await conn._execute(  # type: ignore[no-untyped-call]
                    self._commit_in_thread, jobs, recorded_at, plan
                )
        except sqlite3.Error as exc:
            self._head = None
            log.error("eventlog.commit_failed", store_id=self._store_id, error=str(exc))
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(StorageUnavailable(f"event log commit failed: {exc}"))
            return
        for job, outcome in zip(jobs, batch.outcomes, strict=True):
            if job.fact is not None:
                self._facts += 1
                self._rejected += isinstance(outcome, BaseException)
            if job.future.done():  # the caller went away (request cancelled)
                continue
            if isinstance(outcome, BaseException):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)
        self._events += len(batch.rows)
        self.commit_time.record(time.perf_counter() - started)
        if batch.rows and self._on_commit is not None:
            self._on_commit(last_seq)

    def _plan(self, jobs: list[_Job], recorded_at: datetime) -> _Plan | None:
        """Seal the batch here, on the event loop, after the head this writer last wrote."""
        if self._head is None:
            return None
        seq, head = self._head
        sealed: list[tuple[tuple[Envelope, ...], list[tuple[Any, ...]]] | None] = []
        for job in jobs:
            if job.fact is None:
                sealed.append(None)
                continue
            scratch = _Batch()
            seq, head = self._seal(job.fact, seq, head, recorded_at, scratch)
            sealed.append((scratch.outcomes[0], scratch.rows))
        return _Plan(after=self._head, sealed=sealed)

    def _commit_in_thread(
        self, jobs: list[_Job], recorded_at: datetime, plan: _Plan | None
    ) -> tuple[_Batch, int, tuple[int, bytes]]:
        """Runs on the aiosqlite thread that owns the connection: plain sqlite3 calls."""
        conn: sqlite3.Connection = self._conn._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            head_row = conn.execute(_HEAD_SQL).fetchone()
            seq, head = (int(head_row[0]), bytes(head_row[1])) if head_row else (0, GENESIS_HASH)
            # The loop's seals hold while the chain is where it expected and no fact is dropped.
            planned = plan is not None and plan.after == (seq, head)
            batch = _Batch()
            for index, job in enumerate(jobs):
                fact = job.fact
                if fact is None:
                    for sql, params in job.statements:
                        conn.execute(sql, params)
                    batch.outcomes.append(None)
                    continue
                conflict = self._apply_in_thread(conn, fact, seq + 1) if fact.statements else None
                if conflict is not None:
                    batch.outcomes.append(Rejected(f"conflicts with stored state: {conflict}"))
                    planned = False
                    continue
                sealed = plan.sealed[index] if planned and plan is not None else None
                if sealed is None:
                    seq, head = self._seal(fact, seq, head, recorded_at, batch)
                    continue
                envelopes, rows = sealed
                batch.rows.extend(rows)
                batch.outcomes.append(envelopes)
                if envelopes:
                    seq, head = envelopes[-1].seq, envelopes[-1].hash
            if batch.rows:
                _insert_events(conn, batch.rows)
                conn.execute(_INSERT_OUTBOX_RANGE, (batch.rows[0][0], batch.rows[-1][0]))
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return batch, seq, (seq, head)

    @staticmethod
    def _apply_in_thread(
        conn: sqlite3.Connection, fact: Fact, first_seq: int
    ) -> sqlite3.IntegrityError | None:
        """The fact's statements, or the constraint one broke (then none of them is kept)."""
        statements = fact.statements
        if len(statements) == 1:
            # A failing statement undoes itself (SQLite's default ABORT; no statement here
            # says OR FAIL / OR ROLLBACK): no savepoint needed.
            sql, params = statements[0]
            try:
                conn.execute(sql, [first_seq if p is FIRST_SEQ else p for p in params])
            except sqlite3.IntegrityError as exc:
                return exc
            return None
        conn.execute("SAVEPOINT fact")
        try:
            for sql, params in statements:
                conn.execute(sql, [first_seq if p is FIRST_SEQ else p for p in params])
        except sqlite3.IntegrityError as exc:
            conn.execute("ROLLBACK TO fact")
            conn.execute("RELEASE fact")
            return exc
        conn.execute("RELEASE fact")
        return None

    async def _commit_stepwise(self, jobs: list[_Job], recorded_at: datetime) -> tuple[_Batch, int]:
        """The transaction as awaited steps: facts with a `check` run async code inside it."""
        conn = self._conn
        try:
            await conn.execute("BEGIN IMMEDIATE")
            batch, last_seq = await self._apply(jobs, recorded_at)
            if batch.rows:
                await conn.executemany(_INSERT_EVENT, batch.rows)
                await conn.executemany(_INSERT_OUTBOX, [(row[0],) for row in batch.rows])
            await conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
        return batch, last_seq

    def _seal(
        self, fact: Fact, seq: int, head: bytes, recorded_at: datetime, batch: _Batch
    ) -> tuple[int, bytes]:
        """Seal the fact's events onto the chain after (seq, head); rows and outcome to batch."""
        envelopes = []
        for event in fact.events:
            seq += 1
            envelope = seal(
                event,
                event_id=self._new_event_id(recorded_at),
                store_id=self._store_id,
                seq=seq,
                prev_hash=head,
                occurred_at=fact.occurred_at,
                recorded_at=recorded_at,
                device_id=fact.device_id,
                operator_id=fact.operator_id,
            )
            head = envelope.hash
            envelopes.append(envelope)
            batch.rows.append(
                (
                    seq,
                    envelope.event_id.bytes,
                    event_type_name(event),
                    epoch_us(envelope.occurred_at),
                    epoch_us(recorded_at),
                    envelope.hash,
                    encode_envelope(envelope),
                )
            )
        batch.outcomes.append(tuple(envelopes))
        return seq, head

    async def _apply(self, jobs: list[_Job], recorded_at: datetime) -> tuple[_Batch, int]:
        conn = self._conn
        async with conn.execute(_HEAD_SQL) as cur:
            head_row = await cur.fetchone()
        seq, head = (int(head_row[0]), bytes(head_row[1])) if head_row else (0, GENESIS_HASH)
        batch = _Batch()
        for job in jobs:
            fact = job.fact
            if fact is None:
                for sql, params in job.statements:
                    await conn.execute(sql, params)
                batch.outcomes.append(None)
                continue
            if fact.statements or fact.check is not None:
                try:
                    fact = await self._apply_statements(fact, first_seq=seq + 1)
                except sqlite3.IntegrityError as exc:
                    batch.outcomes.append(Rejected(f"conflicts with stored state: {exc}"))
                    continue
                except EdgeErrorOfCheck as exc:
                    batch.outcomes.append(exc.error)
                    continue
            seq, head = self._seal(fact, seq, head, recorded_at, batch)
        return batch, seq

    async def _apply_statements(self, fact: Fact, *, first_seq: int) -> Fact:
        conn = self._conn
        await conn.execute("SAVEPOINT fact")
        try:
            if fact.check is not None:
                fact = await self._run_check(fact)
            for sql, params in fact.statements:
                await conn.execute(sql, [first_seq if p is FIRST_SEQ else p for p in params])
        except (sqlite3.IntegrityError, EdgeErrorOfCheck):
            await conn.execute("ROLLBACK TO fact")
            await conn.execute("RELEASE fact")
            raise
        await conn.execute("RELEASE fact")
        return fact

    async def _run_check(self, fact: Fact) -> Fact:
        assert fact.check is not None
        try:
            replacement = await fact.check(self._conn)
        except Rejected as exc:
            raise EdgeErrorOfCheck(exc) from exc
        except sqlite3.Error:
            raise  # the transaction's problem, not this fact's: the batch fails retryably
        except Exception as exc:  # a bug in one check must not stop the writer
            log.exception("eventlog.check_failed", store_id=self._store_id)
            raise EdgeErrorOfCheck(FatalError(f"precondition check failed: {exc!r}")) from exc
        return fact if replacement is None else replacement


class EdgeErrorOfCheck(Exception):
    """Carries the error a fact's check gave, out of its savepoint."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error
