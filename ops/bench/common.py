"""Pieces every HTTP benchmark shares: readiness of the edge under test, percentiles, and the
open-loop load generator.

The load generator shares the machine's two cores with the server under test, so it is built
to cost as little as it can (a few tens of microseconds per request) without bending the
measurement: every request's bytes are built before the clock starts, one uvloop event loop
drives plain asyncio Protocols (no streams, no task per request), and request i is due at
t0 + i/rate whether or not the server kept up. A due request goes out at once on an idle
keep-alive connection or waits for the next one to free up, and its latency runs from its
due time to the last byte of its answer, so queueing anywhere (the server, the connections,
the generator's own timer) is counted, never hidden.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import multiprocessing
import os
import subprocess
import time
from collections.abc import Sequence
from typing import Any, cast

import click

from ops import services as local

_TICK_S = 0.001


def wait_edge_ready(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    """Wait for the edge's /healthz, failing the benchmark clearly if it exits or hangs."""
    try:
        local.wait_for_http_ok(
            f"http://127.0.0.1:{port}/healthz", timeout_s=timeout_s, process=proc
        )
    except local.ServiceError as exc:
        raise click.ClickException(f"the edge did not become ready: {exc}") from exc


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0..1) of already sorted values, 0.0 for none (nearest rank)."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def post_request(path: str, token: str, body: bytes) -> bytes:
    """The whole HTTP/1.1 keep-alive POST of a JSON body, as sent on the wire."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class Answer:
    """One answered request: which load process sent it (`client`) and its index in that
    process's send order, status, body and latency (s)."""

    __slots__ = ("client", "index", "latency", "payload", "status")

    def __init__(self, index: int, status: int, payload: bytes, latency: float) -> None:
        self.client = 0
        self.index = index
        self.status = status
        self.payload = payload
        self.latency = latency


class _Schedule:
    """Due requests not yet sent, and the connections free to send them."""

    def __init__(
        self, requests: Sequence[bytes], *, rate: float, total: int, keep_payload: bool
    ) -> None:
        self.requests = requests
        self.rate = rate
        self.total = total
        self.start = 0.0
        self.sent = 0
        self.keep_payload = keep_payload
        self.waiting: collections.deque[tuple[int, float]] = collections.deque()
        # First in, first out: every connection stays busy enough that the server never
        # closes one as idle in the middle of a run.
        self.idle: collections.deque[_Connection] = collections.deque()
        self.answers: list[Answer] = []
        self.outstanding = 0
        self.live = 0
        self.all_answered: asyncio.Future[None] | None = None
        self.failure: BaseException | None = None

    def pump(self) -> None:
        """Send (or queue for a free connection) every request due by now. Called from the
        timer and after each answer: answers arrive far more often than the loop's
        millisecond timer ticks, so under load a request goes out within a few hundred
        microseconds of its due time."""
        due_by_now = min(self.total, int((time.perf_counter() - self.start) * self.rate) + 1)
        while self.sent < due_by_now:
            index = self.sent
            self.sent += 1
            self.outstanding += 1
            due = self.start + index / self.rate
            if self.idle:
                self.idle.popleft().send(index, due)
            else:
                self.waiting.append((index, due))

    def free(self, connection: _Connection) -> None:
        if self.waiting:
            connection.send(*self.waiting.popleft())
        else:
            self.idle.append(connection)

    def answered(self, answer: Answer) -> None:
        self.answers.append(answer)
        self.outstanding -= 1
        if self.outstanding == 0 and self.all_answered is not None:
            self.all_answered.set_result(None)

    def lost(self, connection: _Connection, exc: BaseException | None) -> None:
        self.live -= 1
        if connection in self.idle:
            self.idle.remove(connection)
        if connection.in_flight or self.live == 0:
            self.failure = exc or ConnectionError("the server closed a connection")
            if self.all_answered is not None and not self.all_answered.done():
                self.all_answered.set_exception(self.failure)


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request in flight at a time."""

    def __init__(self, schedule: _Schedule) -> None:
        self._schedule = schedule
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._index = -1
        self._due = 0.0
        self.in_flight = False
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self, index: int, due: float) -> None:
        assert self._transport is not None
        self._index, self._due = index, due
        self.in_flight = True
        self._transport.write(self._schedule.requests[index])

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            self._buffer = buffer
            return
        head = buffer[:end].lower()
        at = head.find(b"\r\ncontent-length:")
        length = 0
        if at >= 0:
            stop = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : stop if stop >= 0 else None])
        if len(buffer) < end + 4 + length:
            self._buffer = buffer
            return
        done = time.perf_counter()
        payload = buffer[end + 4 : end + 4 + length] if self._schedule.keep_payload else b""
        self._buffer = buffer[end + 4 + length :]
        self.in_flight = False
        schedule = self._schedule
        schedule.answered(Answer(self._index, int(head[9:12]), payload, done - self._due))
        schedule.free(self)
        schedule.pump()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            self._schedule.lost(self, exc)


async def open_loop(
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    duration: float,
    connections: int,
    keep_payload: bool = False,
) -> list[Answer]:
    """Send requests[i] at t0 + i/rate (i < rate × duration) over `connections` keep-alive
    connections; every answer with its latency from its due time."""
    loop = asyncio.get_running_loop()
    total = min(len(requests), int(rate * duration))
    schedule = _Schedule(requests, rate=rate, total=total, keep_payload=keep_payload)
    opened: list[tuple[asyncio.Transport, _Connection]] = []
    try:
        for _ in range(connections):
            transport, connection = await loop.create_connection(
                lambda: _Connection(schedule), "127.0.0.1", port
            )
            opened.append((transport, connection))
            schedule.idle.append(connection)
            schedule.live += 1
        schedule.start = time.perf_counter() + 0.05
        while schedule.sent < total:
            schedule.pump()
            if schedule.failure is not None:
                raise schedule.failure
            if schedule.sent < total:
                # The loop's timers tick in whole milliseconds: a shorter sleep would return
                # at once and spin, taking a core from the server under test.
                next_due = schedule.start + schedule.sent / rate
                await asyncio.sleep(max(_TICK_S, next_due - time.perf_counter()))
        if schedule.outstanding:
            schedule.all_answered = loop.create_future()
            await asyncio.wait_for(schedule.all_answered, timeout=60 + duration)
    finally:
        for transport, connection in opened:
            connection.closing = True
            transport.close()
    return schedule.answers


def run_open_loop(
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    duration: float,
    connections: int,
    keep_payload: bool = False,
) -> list[Answer]:
    """`open_loop` on a fresh uvloop event loop, with the cyclic GC off (no generator pauses
    in the measurement)."""
    import uvloop

    gc.disable()
    try:
        return uvloop.run(
            open_loop(
                port,
                requests,
                rate=rate,
                duration=duration,
                connections=connections,
                keep_payload=keep_payload,
            )
        )
    finally:
        gc.enable()


def _run_client(
    args: tuple[int, Sequence[bytes], float, float, int, bool],
) -> list[Answer]:
    port, requests, rate, duration, connections, keep_payload = args
    return run_open_loop(
        port,
        requests,
        rate=rate,
        duration=duration,
        connections=connections,
        keep_payload=keep_payload,
    )


def run_load(
    port: int,
    schedules: Sequence[Sequence[bytes]],
    *,
    rate: float,
    duration: float,
    connections: int,
    keep_payload: bool = False,
    warmups: Sequence[Sequence[bytes]] | None = None,
    probe: EdgeProbe | None = None,
) -> tuple[list[Answer], float]:
    """One load generator process per schedule, each at rate/len(schedules): first a second
    of warm-up at a quarter of the rate (its own requests, or the schedule's first ones),
    then the measured run. All answers of the measured run (`Answer.index` indexes the
    schedule that sent it, in the order given) and its wall time. A `probe` reads the edge
    just before and just after the measured run."""
    clients = len(schedules)
    share = rate / clients
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(clients) as pool:
        warm = warmups if warmups is not None else schedules
        pool.map(_run_client, [(port, w, share / 4, 1.0, connections, False) for w in warm])
        if probe is not None:
            probe.before()
        started = time.perf_counter()
        results = pool.map(
            _run_client,
            [(port, s, share, duration, connections, keep_payload) for s in schedules],
        )
        elapsed = time.perf_counter() - started
        if probe is not None:
            probe.after()
    for client, answers in enumerate(results):
        for answer in answers:
            answer.client = client
    return [answer for answers in results for answer in answers], elapsed


class EdgeProbe:
    """The edge's own account of a measured run, to say where the time went: its timings
    (GET /v1/status histograms, subtracted across the run: edge/telemetry.py) and its CPU
    time (Linux /proc; left out where there is none).

    `figures(route, requests)` gives: the edge's own answer time for `route` (p50/p99, from
    the request reaching the edge to its answer: what is left of a terminal's latency is the
    server, the kernel and the load generator), the event log's commit time and facts per
    commit, and the edge process's CPU per request (all its threads).
    """

    def __init__(self, port: int, token: str, pid: int) -> None:
        self._url = f"http://127.0.0.1:{port}/v1/status"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._pid = pid
        self._readings: list[tuple[dict[str, Any], float | None]] = []

    def before(self) -> None:
        self._readings = [self._read()]

    def after(self) -> None:
        self._readings.append(self._read())

    def _read(self) -> tuple[dict[str, Any], float | None]:
        import httpx

        response = httpx.get(self._url, headers=self._headers, timeout=10)
        response.raise_for_status()
        return response.json(), process_cpu_s(self._pid)

    def figures(self, route: str, requests: int) -> dict[str, float | None]:
        if len(self._readings) != 2:
            raise click.ClickException("the edge was not read before and after the run")
        (first, cpu_first), (last, cpu_last) = self._readings
        cpu = None if cpu_first is None or cpu_last is None else cpu_last - cpu_first
        return edge_figures(first, last, route=route, requests=requests, cpu_s=cpu)


def edge_figures(
    first: dict[str, Any], last: dict[str, Any], *, route: str, requests: int, cpu_s: float | None
) -> dict[str, float | None]:
    """`EdgeProbe.figures` from two GET /v1/status answers and the CPU seconds between."""
    import msgspec

    from edge.telemetry import LatencySnapshot

    def during(name: str) -> LatencySnapshot:
        earlier = msgspec.convert(first["histograms"][name], LatencySnapshot)
        return msgspec.convert(last["histograms"][name], LatencySnapshot).since(earlier)

    answers, commits = during(f"pos {route}"), during("writer commit")
    facts = last["writer"]["facts"] - first["writer"]["facts"]
    return {
        "edge_p50_ms": round(answers.quantile_ms(0.50), 2),
        "edge_p99_ms": round(answers.quantile_ms(0.99), 2),
        "commit_p50_ms": round(commits.quantile_ms(0.50), 2),
        "commit_p99_ms": round(commits.quantile_ms(0.99), 2),
        "facts_per_commit": round(facts / commits.count, 2) if commits.count else 0.0,
        "edge_cpu_us_per_request": (
            round(cpu_s / requests * 1e6, 1) if cpu_s is not None and requests else None
        ),
    }


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds a process has used (all threads), from Linux's /proc; None
    where that is not available."""
    fields = local.proc_stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
