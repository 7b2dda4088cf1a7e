"""`jxc bench redeem`: scan-to-redeem over HTTP at a fixed arrival rate, exactly once.

The edge runs as a real process (uvicorn on loopback) on a store database holding
`--codes` active vouchers (bulk-inserted in setup) and a key ring for signed codes. Load
generator processes send POST /v1/redemptions with a terminal token over raw HTTP/1.1
keep-alive connections on an open-loop schedule (request i is due at t0 + i/rate; latency is
measured from that time). The mix: fresh batch codes, signed offline codes the store never
saw, unknown codes, and duplicates of codes redeemed earlier in the run. Afterwards every
answer is checked (a valid code must be redeemed, an unknown or duplicate one refused) and the
database is checked for a code redeemed twice.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from ops import services as local
from ops.bench.common import percentile, wait_edge_ready

_EDGE = """
import sys, uvicorn
from ops.logs import configure_logging
configure_logging("warning")  # logs to stderr: stdout carries only the figures
from edge.app import create_app
from edge.settings import EdgeSettings
from pathlib import Path
settings = EdgeSettings(store_id="bench", db_path=Path(sys.argv[1]), relay_enabled=False,
                        coldchain_intake_enabled=False, redeem_keyring_path=Path(sys.argv[3]))
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
            access_log=False, log_config=None)
"""

_VOUCHER_JSON = (
    '{"code":"%s","kind":"group_buy","valid_from":"2020-01-01T00:00:00Z",'
    '"valid_until":"2099-01-01T00:00:00Z","lines":[{"gtin":"06901234567892","quantity":1}],'
    '"value_fen":8800,"issuer":"meituan"}'
)

# (kind, expected outcome)
Expect = tuple[str, str]


def _batch_code(n: int) -> str:
    return f"MT{n:09d}"


def _seed(db: Path, codes: int, progress: Any) -> None:
    from edge.eventlog.database import open_database

    async def migrate() -> None:
        conn = await open_database(db)
        await conn.close()

    asyncio.run(migrate())
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA synchronous = OFF")
        chunk = 50_000
        for start in range(0, codes, chunk):
            conn.executemany(
                "INSERT INTO redeem_vouchers(code, batch_id, body) VALUES (?, 'bench', ?)",
                (
                    (code, _VOUCHER_JSON % code)
                    for code in map(_batch_code, range(start, min(start + chunk, codes)))
                ),
            )
            progress.update(min(chunk, codes - start))


def _keyring(path: Path) -> Any:
    import msgspec
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from protocol.redeem_events import TrustedKey
    from protocol.signed_codes import public_key_bytes

    key = Ed25519PrivateKey.generate()
    now = datetime.now(UTC)
    trusted = TrustedKey(
        key_id="bench1",
        public_key=public_key_bytes(key),
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=1),
    )
    path.write_bytes(msgspec.json.encode([trusted]))
    return key


def _requests(
    total: int, codes: int, key: Any, seed: int, part: int, parts: int
) -> list[tuple[bytes, Expect, str]]:
    """(body, (kind, expected outcome), code) per request, in send order; each load process
    draws fresh codes from its own part of the code space."""
    from protocol.redeem_events import RedeemLine, Voucher
    from protocol.signed_codes import sign_voucher

    rng = random.Random(seed)
    now = datetime.now(UTC)
    space = range(part, codes, parts)
    fresh = rng.sample(space, k=min(len(space), total))
    used: list[str] = []
    out = []
    for i in range(total):
        roll = rng.random()
        if roll < 0.10:
            code, kind, expect = f"XX{rng.randrange(10**9):09d}", "unknown", "rejected"
        elif roll < 0.20 and len(used) > 400:
            code, kind, expect = used[rng.randrange(len(used) - 400)], "duplicate", "rejected"
        elif roll < 0.30:
            voucher = Voucher(
                code=f"SG{seed}-{i:09d}",
                kind="pickup",
                valid_from=now - timedelta(hours=1),
                valid_until=now + timedelta(days=1),
                lines=(RedeemLine(gtin="06901234567892", quantity=1),),
                order_id=f"ORD{i}",
            )
            code = sign_voucher(voucher, key_id="bench1", private_key=key)
            kind, expect = "signed", "redeemed"
            used.append(code)
        else:
            code, kind, expect = _batch_code(fresh[i]), "valid", "redeemed"
            used.append(code)
        body = json.dumps({"code": code, "client_id": f"b{seed}-{i}", "channel": "group-buy"})
        out.append((body.encode(), (kind, expect), code))
    return out


async def _load(
    port: int,
    token: str,
    rate: float,
    duration: float,
    connections: int,
    requests: list[tuple[bytes, Expect, str]],
) -> tuple[list[float], list[tuple[int, str, str, str]]]:
    """Latencies, and (status, kind, expected, outcome) with the code per answer."""
    head = (
        "POST /v1/redemptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    ).encode()
    total = min(len(requests), int(rate * duration))
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    latencies: list[float] = []
    answers: list[tuple[int, str, str, str]] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            job = await queue.get()
            if job is None:
                break
            i, due = job
            body, (kind, expect), code = requests[i]
            writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            header = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in header.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            payload = await reader.readexactly(length)
            latencies.append(time.perf_counter() - due)
            status = int(header[9:12])
            outcome = "redeemed" if b'"outcome":"redeemed"' in payload else "rejected"
            answers.append((status, kind, expect if outcome == expect else outcome, code))
            if outcome != expect:
                answers[-1] = (status, kind, f"unexpected:{outcome}", code)
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    await asyncio.sleep(0.2)
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((i, due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return latencies, answers


def _load_process(args: tuple[Any, ...]) -> tuple[list[float], list[tuple[int, str, str, str]]]:
    return asyncio.run(_load(*args))


@click.command()
@click.option("--rate", default=2000.0, show_default=True, help="Arrival rate, redemptions/s.")
@click.option("--duration", default=10.0, show_default=True, help="Seconds of measured load.")
@click.option("--codes", default=1_000_000, show_default=True, help="Active codes in the store.")
@click.option("--clients", default=1, show_default=True, help="Load generator processes.")
@click.option("--connections", default=32, show_default=True, help="Connections per process.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def redeem(
    rate: float, duration: float, codes: int, clients: int, connections: int, as_json: bool
) -> None:
    """Scan-to-redeem over HTTP (token, verify, exactly-once claim, event logged) at a fixed
    arrival rate, with valid, signed-offline, unknown and duplicate codes.

    Prints {"redemptions", "per_s", "p50_ms", "p99_ms", "double_redemptions", "errors"};
    errors count non-200 answers and answers other than expected. Budget (DESIGN.md):
    p99 ≤ 10 ms at ≥ 2,000 redemptions/s, 0 double redemptions.
    """
    from edge.terminals.store import issue_terminal_token

    with tempfile.TemporaryDirectory(prefix="jxc-bench-redeem-") as tmp:
        db = Path(tmp) / "store.db"
        keyring = Path(tmp) / "keyring.json"
        with click.progressbar(length=codes, label="seeding codes", file=sys.stderr) as bar:
            _seed(db, codes, bar)
        key = _keyring(keyring)
        token = issue_terminal_token(db, "bench-pos")
        total = int(rate * duration)
        parts = clients + 1  # the last part of the code space is the warm-up's
        per_client = [
            _requests(total // clients + 1, codes, key, seed=100 + k, part=k, parts=parts)
            for k in range(clients)
        ]
        warmup = [
            _requests(int(rate / 4 / clients) + 1, codes, key, seed=900 + k, part=clients,
                      parts=parts)
            for k in range(clients)
        ]  # fmt: skip
        port = local.free_port()
        proc = subprocess.Popen(
            [sys.executable, "-c", _EDGE, str(db), str(port), str(keyring)], env=dict(os.environ)
        )
        try:
            wait_edge_ready(port, proc)
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(clients) as pool:
                pool.map(
                    _load_process,
                    [(port, token, rate / 4 / clients, 1.0, connections, w) for w in warmup],
                )
                started = time.perf_counter()
                results = pool.map(
                    _load_process,
                    [(port, token, rate / clients, duration, connections, r) for r in per_client],
                )
                elapsed = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        with sqlite3.connect(db) as conn:
            (doubled_in_db,) = conn.execute(
                "SELECT count(*) FROM (SELECT code FROM redeem_attempts"
                " WHERE redemption_id IS NOT NULL AND reversed_seq IS NULL"
                " GROUP BY code HAVING count(*) > 1)"
            ).fetchone()
    latencies = sorted(x for lat, _ in results for x in lat)
    answers = [a for _, ans in results for a in ans]
    redeemed = Counter(code for _, _, outcome, code in answers if outcome == "redeemed")
    double = sum(1 for n in redeemed.values() if n > 1) + int(doubled_in_db)
    unexpected = Counter(
        (kind, outcome) for status, kind, outcome, _ in answers if outcome.startswith("unexpected")
    )
    errors = sum(1 for status, _, _, _ in answers if status != 200) + sum(unexpected.values())
    report = {
        "redemptions": len(latencies),
        "per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "double_redemptions": double,
        "errors": errors,
    }
    mix = Counter(kind for _, kind, _, _ in answers)
    click.echo(f"codes={codes} mix={dict(mix)} unexpected={dict(unexpected)}", err=True)
    if as_json:
        click.echo(json.dumps(report))
    else:
        for name, value in report.items():
            click.echo(f"{name:20} {value}")
