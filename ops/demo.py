"""A store day, end to end, on loopback: NATS + Mosquitto, cloud (ingest + ClickHouse), edge,
simulated POS scans, then a check that every edge event landed in ClickHouse exactly once.

Every part runs as its real process (`python -m ops …`), so the demo exercises what a store
and a region run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from edge.catalog.domain import Item
from edge.catalog.service import record_item_master
from edge.clock import random_event_id, utc_now
from edge.eventlog.database import open_database
from edge.terminals.store import issue_terminal_token
from ops import services as local
from protocol.gs1.gtin import with_check_digit

STORE_ID = "demo-store-1"
TERMINALS = ("pos-1", "pos-2", "pos-3")


@dataclass
class DemoResult:
    scans: int = 0
    events_edge: int = 0
    events_clickhouse: int = 0
    lost: int = 0
    duplicated: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    landed_s: float = 0.0
    urls: dict[str, str] = field(default_factory=dict)
    # Scales and probes (firmware bridge → Mosquitto → edge): extra keys of the JSON result.
    devices: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.events_edge > 0
            and self.lost == 0
            and self.duplicated == 0
            and self.events_clickhouse == self.events_edge
        )


@dataclass
class DemoProcesses:
    servers: list[local.LocalServer] = field(default_factory=list)
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for child in reversed(self.children):
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        for server in reversed(self.servers):
            server.stop()


def demo_items(count: int, rng: random.Random) -> tuple[Item, ...]:
    """A fresh counter's item master: GTIN-13s under a demo company prefix."""
    kinds = ("鲈鱼 sea bass", "基围虾 prawns", "菠菜 spinach", "草莓 strawberries", "牛腩 brisket")
    return tuple(
        Item(
            gtin="0" + with_check_digit(f"694{n:09d}"),  # GTIN-14 of a GTIN-13
            name=f"{kinds[n % len(kinds)]} #{n}",
            price_fen=rng.randrange(300, 20_000),
            unit="kg" if n % 3 == 0 else "each",
        )
        for n in range(1, count + 1)
    )


def scan_codes(items: tuple[Item, ...], count: int, rng: random.Random) -> list[str]:
    """Mostly known items, some unknown GTINs and some misreads (bad check digits)."""
    codes = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.85:
            codes.append(rng.choice(items).gtin[1:])  # as a GTIN-13 scan
        elif roll < 0.95:
            codes.append(with_check_digit(f"695{rng.randrange(10**9):09d}"))
        else:
            good = rng.choice(items).gtin[1:]
            codes.append(good[:-1] + str((int(good[-1]) + 1) % 10))
    return codes


def _spawn(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "ops", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


async def _drive_scans(
    edge_url: str,
    tokens: dict[str, str],
    codes: list[str],
    progress: Callable[[int], None],
    concurrency: int = 16,
) -> Counter[str]:
    verdicts: Counter[str] = Counter()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for code in codes:
        queue.put_nowait(code)
    terminal_ids = list(tokens)

    async def cashier(client: httpx.AsyncClient, worker: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[terminal_ids[worker % len(terminal_ids)]]}"}
        while True:
            try:
                code = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            response = await client.post("/v1/scans", json={"code": code}, headers=headers)
            response.raise_for_status()
            verdicts[response.json()["verdict"]] += 1
            progress(1)

    async with httpx.AsyncClient(base_url=edge_url, timeout=10) as client:
        await asyncio.gather(*(cashier(client, n) for n in range(concurrency)))
    return verdicts


def _wait_landed(
    cloud_url: str, api_token: str, events_edge: int, timeout_s: float
) -> dict[str, int]:
    """Poll the cloud until every edge event is in ClickHouse (or the deadline passes)."""
    deadline = time.monotonic() + timeout_s
    landing = {"rows": 0, "distinct_seqs": 0, "max_seq": 0}
    headers = {"Authorization": f"Bearer {api_token}"}
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            report = httpx.get(f"{cloud_url}/v1/transport/stores", headers=headers, timeout=5)
            report.raise_for_status()
            stores = {s["store_id"]: s for s in report.json()["stores"]}
            if STORE_ID in stores:
                landing = stores[STORE_ID]
                if landing["distinct_seqs"] >= events_edge:
                    return {k: int(landing[k]) for k in ("rows", "distinct_seqs", "max_seq")}
        time.sleep(0.2)
    return landing


def run_demo(
    home: Path,
    *,
    scans: int = 400,
    items: int = 200,
    seed: int = 7,
    say: Callable[[str], None] = print,
    progress_factory: Callable[[int], contextlib.AbstractContextManager[Callable[[int], None]]]
    | None = None,
    keep_running: Callable[[DemoResult], None] | None = None,
) -> DemoResult:
    rng = random.Random(seed)
    folder = home / "demo"
    shutil.rmtree(folder, ignore_errors=True)
    procs = DemoProcesses()
    result = DemoResult()
    try:
        say("starting NATS JetStream and Mosquitto on loopback")
        nats_server = local.start_nats(
            folder / "nats", port=local.free_port(), monitor_port=local.free_port()
        )
        procs.servers.append(nats_server)
        procs.servers.append(local.start_mosquitto(folder / "mosquitto", port=local.free_port()))
        mqtt_url = procs.servers[-1].url

        api_token = "jxca_" + secrets.token_urlsafe(24)
        cloud_port, edge_port = local.free_port(), local.free_port()
        env = {
            **os.environ,
            "JXC_HOME": str(folder),
            "JXC_NATS_URL": nats_server.url,
            "JXC_CLOUD_API_TOKEN": api_token,
            "JXC_STORE_ID": STORE_ID,
            "JXC_MQTT_URL": mqtt_url,
        }
        say("starting the cloud (ingest + API, embedded ClickHouse)")
        procs.children.append(
            _spawn(["cloud", "serve", "--port", str(cloud_port)], env, folder / "cloud.log")
        )

        say(f"preparing store {STORE_ID}: item master and POS terminals")
        db_path = folder / "edge" / f"{STORE_ID}.db"
        catalog = demo_items(items, rng)
        tokens = asyncio.run(_prepare_store(db_path, catalog))
        say("starting the store edge")
        procs.children.append(
            _spawn(
                ["edge", "serve", "--port", str(edge_port), "--db", str(db_path)],
                env,
                folder / "edge.log",
            )
        )
        edge_url, cloud_url = f"http://127.0.0.1:{edge_port}", f"http://127.0.0.1:{cloud_port}"
        for url, child in ((edge_url, procs.children[1]), (cloud_url, procs.children[0])):
            _wait_ready(f"{url}/healthz", child)
        say("starting simulated scales and probes and the firmware bridge")
        devices = _start_devices(mqtt_url, folder / "devices")

        codes = scan_codes(catalog, scans, rng)
        say(f"{len(TERMINALS)} POS terminals scan {scans} codes")
        started = time.monotonic()
        with (
            progress_factory(scans)
            if progress_factory
            else contextlib.nullcontext(lambda n: None) as advance
        ):
            verdicts = asyncio.run(_drive_scans(edge_url, tokens, codes, advance))
        result.scans = sum(verdicts.values())
        result.verdicts = dict(verdicts)
        say("stopping the devices; waiting for the edge to record every reading")
        result.devices = _stop_devices(devices, edge_url, tokens[TERMINALS[0]])

        status = httpx.get(
            f"{edge_url}/v1/status",
            headers={"Authorization": f"Bearer {tokens[TERMINALS[0]]}"},
            timeout=5,
        ).json()
        result.events_edge = int(status["last_seq"])
        say("waiting for every edge event to land in ClickHouse")
        landing = _wait_landed(cloud_url, api_token, result.events_edge, timeout_s=90)
        result.landed_s = round(time.monotonic() - started, 3)
        result.events_clickhouse = int(landing["distinct_seqs"])
        result.duplicated = int(landing["rows"]) - int(landing["distinct_seqs"])
        result.lost = result.events_edge - int(landing["distinct_seqs"])
        result.urls = {
            "edge_openapi": f"{edge_url}/schema",
            "edge_status": f"{edge_url}/v1/status",
            "cloud_transport": f"{cloud_url}/v1/transport/stores",
            "nats_monitor": f"http://127.0.0.1:{_monitor_port(folder)}/jsz?streams=1",
            "logs": str(folder),
            "edge_token_pos_1": tokens[TERMINALS[0]],
            "cloud_api_token": api_token,
        }
        if keep_running is not None:
            keep_running(result)
        return result
    finally:
        procs.stop()


def _monitor_port(folder: Path) -> str:
    for line in (folder / "nats" / "nats.conf").read_text().splitlines():
        if line.startswith("http:"):
            return line.rsplit(":", 1)[-1].strip()
    return "?"


def _wait_ready(url: str, child: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    try:
        local.wait_for_http_ok(url, timeout_s=timeout_s, process=child)
    except local.ServiceError as exc:
        raise local.ServiceError(f"{url}: {exc} (see the logs under .jxc/demo)") from exc


async def _prepare_store(db_path: Path, catalog: tuple[Item, ...]) -> dict[str, str]:
    conn = await open_database(db_path)
    await conn.close()
    await record_item_master(
        db_path, store_id=STORE_ID, items=catalog, clock=utc_now, new_event_id=random_event_id
    )
    return {terminal: issue_terminal_token(db_path, terminal) for terminal in TERMINALS}


# --- simulated scales and probes (issue 4: firmware bridge → Mosquitto → edge) ---------------


def _start_devices(mqtt_url: str, folder: Path) -> Any:
    from firmware_bridge.simulators.fleet import SimulatedDevices

    devices = SimulatedDevices(STORE_ID, mqtt_url, folder)
    devices.start()
    return devices


def _stop_devices(devices: Any, edge_url: str, token: str, timeout_s: float = 30) -> dict[str, int]:
    """Stop the simulators and bridge, then wait until the edge recorded what was published."""
    published = int(devices.stop())
    headers = {"Authorization": f"Bearer {token}"}
    counters: dict[str, Any] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            report = httpx.get(f"{edge_url}/v1/coldchain/intake", headers=headers, timeout=5)
            counters = report.json()["counters"]
            if counters["readings_recorded"] >= published:
                break
        time.sleep(0.1)
    recorded = int(counters.get("readings_recorded", 0))
    return {
        "readings_published": published,
        "readings_edge": recorded,
        "readings_lost": max(0, published - recorded) + int(counters.get("readings_missing", 0)),
    }
