"""`jxc bench pipeline`: a store's backlog, edge log → NATS JetStream → ClickHouse.

Real processes on loopback: nats-server, `jxc cloud serve` (ingest on embedded ClickHouse) and
`jxc edge serve` whose relay drains a log pre-filled with N sealed events (a store coming back
after days offline). Reports how long the backlog takes to land and checks every event is in
ClickHouse exactly once; the relay's own figures show where the time goes (publishing vs
ingesting).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import httpx

from ops import services as local
from ops.bench.common import process_cpu_s

STORE = "bench-store"


@dataclass
class PipelineFigures:
    events: int
    events_per_s: float
    catch_up_s: float
    publish_s: float  # until JetStream acked the whole backlog to the relay
    publish_events_per_s: float
    lost: int
    duplicated: int
    batch_size: int
    fill_s: float
    # Where the time went: CPU per event of each process while the backlog crossed (the
    # edge's includes its start; the cloud's includes embedded ClickHouse). None where /proc
    # cannot say.
    cpu_us_per_event: dict[str, float] | None = None


def fill_edge_log(db_path: Path, events: int, progress: Any = None) -> None:
    """Write N sealed scan events (and their outbox rows) straight into a migrated store log."""
    import asyncio

    from edge.eventlog.database import open_database
    from protocol.envelope import GENESIS_HASH, encode_envelope, seal
    from protocol.events import ItemScanned
    from protocol.ids import uuid7

    async def migrate() -> None:
        await (await open_database(db_path)).close()

    asyncio.run(migrate())
    start = datetime.now(UTC) - timedelta(days=3)
    head, chunk = GENESIS_HASH, 20_000
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA synchronous = OFF")
        for first in range(1, events + 1, chunk):
            rows = []
            for seq in range(first, min(first + chunk, events + 1)):
                moment = start + timedelta(milliseconds=seq)
                envelope = seal(
                    ItemScanned(
                        terminal_id=f"pos-{seq % 8}",
                        raw_code="6901234567892",
                        verdict="allow",
                        gtin="06901234567892",
                    ),
                    event_id=uuid7(int(moment.timestamp() * 1000), seq.to_bytes(10, "big")),
                    store_id=STORE,
                    seq=seq,
                    prev_hash=head,
                    occurred_at=moment,
                    recorded_at=moment,
                    device_id=f"pos-{seq % 8}",
                )
                head = envelope.hash
                micros = int(moment.timestamp() * 1_000_000)
                rows.append(
                    (
                        seq,
                        envelope.event_id.bytes,
                        "ItemScanned",
                        micros,
                        micros,
                        head,
                        encode_envelope(envelope),
                    )
                )
            conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            conn.executemany("INSERT INTO outbox(seq) VALUES (?)", [(r[0],) for r in rows])
            if progress is not None:
                progress(len(rows))


def run_pipeline(events: int, batch_size: int, workdir: Path, say: Any) -> PipelineFigures:
    children: list[subprocess.Popen[bytes]] = []
    nats_server = local.start_nats(
        workdir / "nats", port=local.free_port(), monitor_port=local.free_port()
    )
    try:
        db_path = workdir / "edge" / f"{STORE}.db"
        db_path.parent.mkdir(parents=True)
        fill_started = time.monotonic()
        with click.progressbar(length=events, label="filling the edge log", file=sys.stderr) as bar:
            fill_edge_log(db_path, events, bar.update)
        fill_s = time.monotonic() - fill_started

        token = "jxca_" + secrets.token_urlsafe(16)
        cloud_port, edge_port = local.free_port(), local.free_port()
        env = {
            **os.environ,
            "JXC_HOME": str(workdir),
            "JXC_NATS_URL": nats_server.url,
            "JXC_CLOUD_API_TOKEN": token,
            "JXC_STORE_ID": STORE,
            "JXC_RELAY_BATCH_MAX": str(batch_size),
            "JXC_INGEST_FETCH_BATCH": "64",
        }
        say("starting the cloud (ingest on embedded ClickHouse)")
        children.append(
            local.spawn_jxc(
                ["cloud", "serve", "--port", str(cloud_port), "--log-level", "warning"],
                env,
                workdir / "cloud.log",
            )
        )
        cloud_url = f"http://127.0.0.1:{cloud_port}"
        local.wait_for_http_ok(f"{cloud_url}/healthz", timeout_s=60, process=children[0])
        headers = {"Authorization": f"Bearer {token}"}

        say(f"relaying a backlog of {events} events")
        cpu_before = {
            "cloud": process_cpu_s(children[0].pid),
            "nats": process_cpu_s(nats_server.pid),
        }
        started = time.monotonic()
        children.append(
            local.spawn_jxc(
                [
                    "edge",
                    "serve",
                    "--port",
                    str(edge_port),
                    "--db",
                    str(db_path),
                    "--log-level",
                    "warning",
                ],
                env,
                workdir / "edge.log",
            )
        )
        edge_url = f"http://127.0.0.1:{edge_port}"
        publish_s = landed_s = 0.0
        landing: dict[str, Any] = {}
        deadline = started + max(120.0, events / 5_000)
        with click.progressbar(
            length=events, label="landing in ClickHouse", file=sys.stderr
        ) as bar:
            shown = 0
            # Watching must not slow what it watches: poll the ingest's mark (from memory),
            # count rows in ClickHouse once the mark says everything is in.
            while time.monotonic() < deadline:
                time.sleep(0.1)
                if not publish_s:
                    publish_s = _published(edge_url, db_path, events, started)
                mark = _ingest_mark(cloud_url, headers)
                bar.update(max(0, min(mark, events) - shown))
                shown = max(shown, min(mark, events))
                if mark >= events:
                    landed_s = time.monotonic() - started
                    break
        cpu_after = {
            "edge": process_cpu_s(children[1].pid),
            "cloud": process_cpu_s(children[0].pid),
            "nats": process_cpu_s(nats_server.pid),
        }
        if not publish_s:
            publish_s = landed_s
        # The edge adds events of its own to the backlog (its signing key's announcement,
        # chain checkpoints): everything in its log must land, exactly once.
        expected = _edge_head(db_path) or events
        while time.monotonic() < deadline + 30:
            landing = _landing(cloud_url, headers) or landing
            if int(landing.get("distinct_seqs", 0)) >= expected:
                break
            time.sleep(0.25)
            expected = _edge_head(db_path) or expected
        rows = int(landing.get("rows", 0))
        distinct = int(landing.get("distinct_seqs", 0))
        return PipelineFigures(
            events=events,
            events_per_s=round(events / landed_s, 1) if landed_s else 0.0,
            catch_up_s=round(landed_s, 3) if landed_s else -1.0,
            publish_s=round(publish_s, 3),
            publish_events_per_s=round(events / publish_s, 1) if publish_s else 0.0,
            lost=expected - distinct,
            duplicated=rows - distinct,
            batch_size=batch_size,
            fill_s=round(fill_s, 1),
            cpu_us_per_event=_cpu_per_event(cpu_before, cpu_after, events),
        )
    finally:
        for child in reversed(children):
            child.terminate()
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        nats_server.stop()


def _cpu_per_event(
    before: dict[str, float | None], after: dict[str, float | None], events: int
) -> dict[str, float] | None:
    spent = {}
    for name, used in after.items():
        start = before.get(name, 0.0)
        if used is None or start is None:
            return None
        spent[name] = round((used - start) / events * 1e6, 2)
    return spent


def _published(edge_url: str, db_path: Path, events: int, started: float) -> float:
    """Seconds since start when the outbox was empty (JetStream acked everything), or 0."""
    # EXISTS, not count(*): a count would scan a million outbox rows ten times a second.
    pending = _edge_count(db_path, "SELECT EXISTS (SELECT 1 FROM outbox)")
    return time.monotonic() - started if pending == 0 else 0.0


def _edge_head(db_path: Path) -> int:
    """The last seq in the edge's log (0 if it cannot be read right now)."""
    return max(0, _edge_count(db_path, "SELECT max(seq) FROM events"))


def _edge_count(db_path: Path, sql: str) -> int:
    """One number from the edge's log, read-only beside the running edge; -1 if it cannot
    be read right now."""
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute(sql).fetchone()
    except sqlite3.Error:
        return -1
    return int(row[0] or 0)


def _ingest_mark(cloud_url: str, headers: dict[str, str]) -> int:
    try:
        report = httpx.get(f"{cloud_url}/v1/transport/ingest", headers=headers, timeout=10)
        report.raise_for_status()
    except httpx.HTTPError:
        return 0
    return int(report.json()["marks"].get(STORE, 0))


def _landing(cloud_url: str, headers: dict[str, str]) -> dict[str, Any]:
    try:
        report = httpx.get(f"{cloud_url}/v1/transport/stores", headers=headers, timeout=10)
        report.raise_for_status()
    except httpx.HTTPError:
        return {}
    for store in report.json()["stores"]:
        if store["store_id"] == STORE:
            return dict(store)
    return {}


@click.command()
@click.option("--events", default=1_000_000, show_default=True, type=click.IntRange(1, 50_000_000))
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Events per NATS message.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--keep", is_flag=True, help="Keep the working folder (logs, databases).")
def pipeline(events: int, batch_size: int, as_json: bool, keep: bool) -> None:
    """Edge log → NATS → ClickHouse: catch up a backlog of --events, then check exactly-once.

    Prints {"events", "events_per_s", "catch_up_s", "lost", "duplicated", …}. Budget:
    ≥ 150,000 events/s and a 1,000,000-event backlog in < 10 s (2 cores). Where the time
    went: "cpu_us_per_event" gives each process's CPU per event while the backlog crossed
    (edge relay, nats-server, cloud ingest with its embedded ClickHouse).
    """
    from ops.logs import configure_logging

    configure_logging("warning")
    workdir = Path(tempfile.mkdtemp(prefix="jxc-bench-pipeline-"))

    def say(message: str) -> None:
        if not as_json:
            click.echo(f"• {message}", err=True)

    try:
        figures = run_pipeline(events, batch_size, workdir, say)
    finally:
        if keep:
            click.echo(f"kept {workdir}", err=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result = asdict(figures)
    click.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))
    sys.exit(0 if figures.lost == 0 and figures.duplicated == 0 else 1)
