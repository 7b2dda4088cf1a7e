"""A store day, end to end, on loopback: NATS + Mosquitto, cloud (ingest + ClickHouse), edge,
simulated POS scans, then a check that every edge event landed in ClickHouse exactly once.
A second store's edge joins for scan-to-redeem: one multi-store code redeemed in both stores
must be flagged by the cloud exactly once.

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
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from edge.catalog.domain import Item
from edge.catalog.service import record_item_master
from edge.clock import random_event_id, utc_now
from edge.eventlog.database import open_database
from edge.redeem.downlink import batch_msg_id, ensure_vouchers_stream
from edge.terminals.store import issue_terminal_token
from ops import services as local
from ops.demo_trace import record_store_day, trace_and_recall
from protocol.gs1.gtin import with_check_digit
from protocol.redeem_events import (
    CouponTerms,
    RedeemLine,
    TrustedKey,
    Voucher,
    VoucherBatch,
    VoucherKind,
)
from protocol.signed_codes import public_key_bytes, sign_voucher
from protocol.subjects import command_subject

STORE_ID = "demo-store-1"
TERMINALS = ("pos-1", "pos-2", "pos-3")
# A second store, for redemptions of one multi-store code in two stores (scan-to-redeem).
STORE_2_ID = "demo-store-2"
STORE_2_TERMINALS = ("pos-1",)


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
    # Scan-to-redeem at both stores; the landing figures above are sums over `stores`.
    redemptions: int = 0
    redemptions_rejected: int = 0
    redemption_retries: int = 0
    double_redemptions_flagged: int = 0
    redeem_unexpected: list[str] = field(default_factory=list)
    stores: dict[str, dict[str, int]] = field(default_factory=dict)
    # Traceability: the supplier lot's trace, its verified report, exports and recall.
    trace: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.events_edge > 0
            and bool(self.trace.get("report_verified"))
            and self.trace.get("recalled_scan_verdict") == "block"
            and not self.trace.get("problems")
            and self.lost == 0
            and self.duplicated == 0
            and self.events_clickhouse == self.events_edge
            and set(self.stores) == {STORE_ID, STORE_2_ID}
            and all(
                s["events_edge"] == s["events_clickhouse"] > 0 and s["lost"] == s["duplicated"] == 0
                for s in self.stores.values()
            )
            and self.redemptions > 0
            and not self.redeem_unexpected
            and self.double_redemptions_flagged == 1
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
    cloud_url: str, api_token: str, events_edge: int, timeout_s: float, store_id: str = STORE_ID
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
            if store_id in stores:
                landing = stores[store_id]
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
            # sign chain checkpoints often, so the demo's trace report is fully anchored
            "JXC_CHECKPOINT_INTERVAL_S": "2",
        }
        say("starting the cloud (ingest + API, embedded ClickHouse)")
        procs.children.append(
            local.spawn_jxc(
                ["cloud", "serve", "--port", str(cloud_port)], env, folder / "cloud.log"
            )
        )

        say(f"preparing store {STORE_ID}: item master and POS terminals")
        db_path = folder / "edge" / f"{STORE_ID}.db"
        catalog = demo_items(items, rng)
        tokens = asyncio.run(_prepare_store(db_path, catalog))
        say(f"preparing store {STORE_2_ID}, the redeem signing key and the stores' key ring")
        db_path_2 = folder / "edge" / f"{STORE_2_ID}.db"
        tokens_2 = asyncio.run(_prepare_store(db_path_2, catalog, STORE_2_ID, STORE_2_TERMINALS))
        redeem = prepare_redeem(folder / "redeem", catalog)
        edge_env = {**env, **redeem.edge_env()}
        say("starting the store edges")
        procs.children.append(
            local.spawn_jxc(
                ["edge", "serve", "--port", str(edge_port), "--db", str(db_path)],
                edge_env,
                folder / "edge.log",
            )
        )
        edge_2_port = local.free_port()
        procs.children.append(
            local.spawn_jxc(
                ["edge", "serve", "--port", str(edge_2_port), "--db", str(db_path_2)],
                {**edge_env, "JXC_STORE_ID": STORE_2_ID, "JXC_COLDCHAIN_INTAKE": "0"},
                folder / "edge-2.log",
            )
        )
        say(f"the cloud sends {STORE_ID} a voucher batch over NATS")
        asyncio.run(publish_voucher_batch(nats_server.url, redeem.batch))
        edge_url, cloud_url = f"http://127.0.0.1:{edge_port}", f"http://127.0.0.1:{cloud_port}"
        edge_2_url = f"http://127.0.0.1:{edge_2_port}"
        for url, child in (
            (edge_url, procs.children[1]),
            (edge_2_url, procs.children[2]),
            (cloud_url, procs.children[0]),
        ):
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

        store_1 = _Counter(STORE_ID, edge_url, tokens)
        store_2 = _Counter(STORE_2_ID, edge_2_url, tokens_2)
        tally = asyncio.run(redeem_at_counters(store_1, store_2, redeem, say))
        result.redemptions, result.redemptions_rejected = tally.redeemed, tally.rejected
        result.redemption_retries, result.redeem_unexpected = tally.retries, tally.unexpected
        say("waiting for the cloud to flag the double redemption")
        for flag in wait_flags(cloud_url, api_token, MULTI_STORE_CODE, timeout_s=60):
            say(
                f"  flagged: {flag['code']} redeemed at {flag['first']['store_id']} and "
                f"{flag['second']['store_id']}; absorbed by {flag['absorbed_by']} ({flag['rule']})"
            )

        trace_gtins = tuple(item.gtin for item in catalog if item.unit == "each")[:3]
        record_store_day(
            (STORE_ID, edge_url, tokens[TERMINALS[0]]),
            (STORE_2_ID, edge_2_url, tokens_2[STORE_2_TERMINALS[0]]),
            (trace_gtins[0], trace_gtins[1], trace_gtins[2]),
            say,
        )
        say("the cloud traces the supplier lot, proves it, exports it and recalls it")
        result.trace = msgspec.to_builtins(
            trace_and_recall(
                cloud_url,
                api_token,
                (STORE_ID, edge_url, tokens[TERMINALS[0]]),
                trace_gtins[0],
                trace_gtins[2],
                say,
            )
        )
        result.urls["cloud_trace"] = (
            f"{cloud_url}/v1/trace/lots/{trace_gtins[0]}/{result.trace['lot']}"
        )
        say("waiting for every edge event of both stores to land in ClickHouse")
        deadline = time.monotonic() + 90
        result.stores = {
            c.store_id: _land_store(cloud_url, api_token, c, deadline) for c in (store_1, store_2)
        }
        result.landed_s = round(time.monotonic() - started, 3)
        for name in ("events_edge", "events_clickhouse", "lost", "duplicated"):
            setattr(result, name, sum(s[name] for s in result.stores.values()))
        result.double_redemptions_flagged = len(redeem_flags(cloud_url, api_token))
        result.urls = {
            **result.urls,
            "edge_openapi": f"{edge_url}/schema",
            "edge_status": f"{edge_url}/v1/status",
            "cloud_transport": f"{cloud_url}/v1/transport/stores",
            "cloud_ingest": f"{cloud_url}/v1/transport/ingest",
            "cloud_redeem_flags": f"{cloud_url}/v1/redeem/flags",
            "edge_2_status": f"{edge_2_url}/v1/status",
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


def _land_store(
    cloud_url: str, api_token: str, counter: _Counter, deadline: float
) -> dict[str, int]:
    """One store's landing: its edge's last seq against ClickHouse, re-read until the edge
    stopped writing (a store may record other stores' redemptions it learned meanwhile)."""
    headers = {"Authorization": f"Bearer {next(iter(counter.tokens.values()))}"}

    def last_seq() -> int:
        status = httpx.get(f"{counter.url}/v1/status", headers=headers, timeout=5)
        status.raise_for_status()
        return int(status.json()["last_seq"])

    events_edge = last_seq()
    while True:
        timeout_s = max(0.0, deadline - time.monotonic())
        landing = _wait_landed(cloud_url, api_token, events_edge, timeout_s, counter.store_id)
        now_edge = last_seq()
        settled = now_edge == events_edge or time.monotonic() >= deadline
        events_edge = now_edge
        if settled:
            break
    landed, rows = int(landing["distinct_seqs"]), int(landing["rows"])
    return {
        "events_edge": events_edge,
        "events_clickhouse": landed,
        "lost": events_edge - landed,
        "duplicated": rows - landed,
    }


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


async def _prepare_store(
    db_path: Path,
    catalog: tuple[Item, ...],
    store_id: str = STORE_ID,
    terminals: tuple[str, ...] = TERMINALS,
) -> dict[str, str]:
    conn = await open_database(db_path)
    await conn.close()
    await record_item_master(
        db_path, store_id=store_id, items=catalog, clock=utc_now, new_event_id=random_event_id
    )
    return {terminal: issue_terminal_token(db_path, terminal) for terminal in terminals}


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


# --- scan-to-redeem at two stores (issue 7: vouchers, coupons, pickup codes, signed codes) ---

REDEEM_KEY_ID = "demo-k1"
MULTI_STORE_CODE = "DY-DEMO-MULTI"


@dataclass(frozen=True)
class RedeemDemo:
    """The demo's signing key (private half under the demo's JXC_HOME, mode 0600, never in
    git), the key ring the edges trust, and the codes the cashiers will scan."""

    keyring_path: Path
    batch: VoucherBatch
    signed: dict[str, str]  # label → signed compact code text

    def edge_env(self) -> dict[str, str]:
        # A short remote sync so each store soon learns the other's redemptions.
        return {"JXC_REDEEM_KEYRING": str(self.keyring_path), "JXC_REDEEM_SYNC_INTERVAL_S": "0.5"}


@dataclass
class RedeemTally:
    redeemed: int = 0
    rejected: int = 0
    retries: int = 0
    unexpected: list[str] = field(default_factory=list)


def prepare_redeem(folder: Path, catalog: tuple[Item, ...]) -> RedeemDemo:
    """A fresh Ed25519 key and key ring (as `jxc redeem keygen` makes them), a voucher batch for
    store 1 (group-buy voucher, member coupon, pickup code) and signed offline codes."""
    now = utc_now()
    key = Ed25519PrivateKey.generate()
    key_path = folder / "keys" / f"{REDEEM_KEY_ID}.pem"
    key_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    keyring_path = folder / "keyring.json"
    ring = [
        TrustedKey(
            key_id=REDEEM_KEY_ID,
            public_key=public_key_bytes(key),
            not_before=now - timedelta(minutes=5),
            not_after=now + timedelta(days=1),
        )
    ]
    keyring_path.write_bytes(msgspec.json.format(msgspec.json.encode(ring)))

    def lines(*picks: int) -> tuple[RedeemLine, ...]:
        chosen = [catalog[n % len(catalog)] for n in picks]
        return tuple(RedeemLine(gtin=i.gtin, quantity=1, name=i.name) for i in chosen)

    def voucher(code: str, kind: VoucherKind, **fields: Any) -> Voucher:
        return Voucher(
            code=code,
            kind=kind,
            valid_from=now - timedelta(minutes=5),
            valid_until=now + timedelta(days=1),
            **fields,
        )

    batch = VoucherBatch(
        batch_id="demo-vouchers",
        version=1,
        store_id=STORE_ID,
        vouchers=(
            voucher(
                "MT-DEMO-0001",
                "group_buy",
                stores=(STORE_ID,),
                lines=lines(0, 1),
                value_fen=6600,
                issuer="meituan",
            ),
            voucher(
                "VIP-DEMO-0001",
                "coupon",
                terms=CouponTerms(amount_off_fen=1000, min_spend_fen=5000),
                issuer="brand",
                channel="dine-in",
            ),
            voucher(
                "PU-DEMO-0001",
                "pickup",
                lines=lines(2),
                order_id="TO-DEMO-0042",
                issuer="brand",
                channel="takeout",
            ),
        ),
        issued_at=now,
    )
    signed_one = voucher(
        "DY-DEMO-0001", "group_buy", stores=(STORE_ID,), lines=lines(3), value_fen=3900
    )
    multi = voucher(
        MULTI_STORE_CODE,
        "group_buy",
        stores=(STORE_ID, STORE_2_ID),
        lines=lines(4),
        value_fen=5800,
        issuer="douyin",
    )
    forger = Ed25519PrivateKey.generate()  # not the brand's key, but claims its key id
    signed = {
        "signed": sign_voucher(signed_one, key_id=REDEEM_KEY_ID, private_key=key),
        "multi": sign_voucher(multi, key_id=REDEEM_KEY_ID, private_key=key),
        "forged": sign_voucher(
            voucher("DY-DEMO-0666", "group_buy", lines=lines(5), value_fen=99_900),
            key_id=REDEEM_KEY_ID,
            private_key=forger,
        ),
    }
    return RedeemDemo(keyring_path=keyring_path, batch=batch, signed=signed)


async def publish_voucher_batch(nats_url: str, batch: VoucherBatch) -> None:
    """Cloud → store 1 over JetStream (kept until the store's edge takes it)."""
    nc = await nats.connect(nats_url, connect_timeout=5)
    try:
        js = nc.jetstream()
        await ensure_vouchers_stream(js)
        await js.publish(
            command_subject(batch.store_id, "vouchers"),
            msgspec.msgpack.encode(batch),
            headers={"Nats-Msg-Id": batch_msg_id(batch.store_id, batch.batch_id, batch.version)},
        )
    finally:
        await nc.close()


@dataclass(frozen=True)
class _Counter:
    """One store's POS API and its terminals' tokens."""

    store_id: str
    url: str
    tokens: dict[str, str]


async def redeem_at_counters(
    store_1: _Counter,
    store_2: _Counter,
    redeem: RedeemDemo,
    say: Callable[[str], None],
    timeout_s: float = 30,
) -> RedeemTally:
    """Cashiers redeem vouchers at store 1 (a retry, a second scan, a forgery, a coupon whose
    conditions are not met), then the same multi-store signed code at both stores at once."""
    tally = RedeemTally()
    async with httpx.AsyncClient(timeout=10) as client:

        async def post(counter: _Counter, terminal: str, body: dict[str, Any]) -> dict[str, Any]:
            response = await client.post(
                f"{counter.url}/v1/redemptions",
                json=body,
                headers={"Authorization": f"Bearer {counter.tokens[terminal]}"},
            )
            response.raise_for_status()
            answer: dict[str, Any] = response.json()
            return answer

        async def attempt(
            counter: _Counter, terminal: str, what: str, expect: str, body: dict[str, Any]
        ) -> dict[str, Any]:
            answer = await post(counter, terminal, body)
            got = _outcome(answer)
            if got == "redeemed":
                tally.redeemed += 1
            else:
                tally.rejected += 1
            say(f"  {counter.store_id} {terminal}  {what:34} → {_describe(answer)}")
            if got != expect:
                tally.unexpected.append(f"{what}: expected {expect}, got {got}")
            return answer

        await _wait_vouchers(client, store_1, len(redeem.batch.vouchers), timeout_s)
        say(f"cashiers at {store_1.store_id} redeem vouchers, coupons and pickup codes")
        voucher = {"code": "MT-DEMO-0001", "client_id": "pos-1-r0001", "channel": "group-buy"}
        first = await attempt(
            store_1, "pos-1", "MT-DEMO-0001 group-buy voucher", "redeemed", voucher
        )
        again = await post(store_1, "pos-1", voucher)  # the POS retries after a lost response
        tally.retries += 1
        same = again == first
        say(
            f"  {store_1.store_id} pos-1  {'(retried, same client id)':34} → "
            f"{'the same answer' if same else 'A DIFFERENT ANSWER'}"
        )
        if not same:
            tally.unexpected.append("a retry with the same client id got a different answer")
        steps: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
            ("pos-2", "MT-DEMO-0001 scanned again", "already_redeemed",
             {"code": "MT-DEMO-0001", "client_id": "pos-2-r0001"}),
            ("pos-1", "DY-DEMO-0001 signed code (offline)", "redeemed",
             {"code": redeem.signed["signed"], "client_id": "pos-1-r0002"}),
            ("pos-2", "VIP-DEMO-0001 coupon, basket ¥30", "conditions_not_met",
             {"code": "VIP-DEMO-0001", "client_id": "pos-2-r0002", "basket": {"total_fen": 3000}}),
            ("pos-2", "VIP-DEMO-0001 coupon, basket ¥88", "redeemed",
             {"code": "VIP-DEMO-0001", "client_id": "pos-2-r0003", "basket": {"total_fen": 8800}}),
            ("pos-3", "PU-DEMO-0001 pickup code", "redeemed",
             {"code": "PU-DEMO-0001", "client_id": "pos-3-r0001", "channel": "takeout"}),
            ("pos-3", "DY-DEMO-0666 forged signed code", "bad_signature",
             {"code": redeem.signed["forged"], "client_id": "pos-3-r0002"}),
        )  # fmt: skip
        for terminal, what, expect, body in steps:
            await attempt(store_1, terminal, what, expect, body)
        say(f"the same multi-store code at {store_1.store_id} and {store_2.store_id} at once")
        multi = redeem.signed["multi"]
        what = f"{MULTI_STORE_CODE} signed code"
        await asyncio.gather(
            attempt(store_1, "pos-1", what, "redeemed", {"code": multi, "client_id": "s1-r0003"}),
            attempt(store_2, "pos-1", what, "redeemed", {"code": multi, "client_id": "s2-r0001"}),
        )
    return tally


def _outcome(answer: dict[str, Any]) -> str:
    if answer.get("outcome") == "redeemed":
        return "redeemed"
    return str((answer.get("reason") or {}).get("code", "rejected"))


def _describe(answer: dict[str, Any]) -> str:
    if answer.get("outcome") == "redeemed":
        parts = [f"redeemed ({answer.get('kind')}, {answer.get('source')})"]
        if answer.get("lines"):
            parts.append(f"hand over {sum(int(x['quantity']) for x in answer['lines'])} item(s)")
        if answer.get("discount_fen"):
            parts.append(f"take ¥{answer['discount_fen'] / 100:.2f} off")
        if answer.get("order_id"):
            parts.append(f"order {answer['order_id']}")
        return ", ".join(parts)
    reason = answer.get("reason") or {}
    text = f"rejected: {reason.get('code')} ({reason.get('message_en')})"
    prior = answer.get("already_redeemed")
    if prior:
        text += f" at {prior['store_id']} {prior['terminal_id']} {prior['redeemed_at']}"
    return text


async def _wait_vouchers(
    client: httpx.AsyncClient, counter: _Counter, count: int, timeout_s: float
) -> None:
    """Until the edge applied the voucher batch that came down over NATS."""
    token = next(iter(counter.tokens.values()))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            response = await client.get(
                f"{counter.url}/v1/redemptions/status",
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code == 200 and response.json()["vouchers"] >= count:
                return
        await asyncio.sleep(0.1)
    raise local.ServiceError(
        f"{counter.store_id} did not receive the voucher batch in {timeout_s:.0f} s "
        "(see the logs under .jxc/demo)"
    )


def wait_flags(cloud_url: str, api_token: str, code: str, timeout_s: float) -> list[dict[str, Any]]:
    """Poll the cloud's double-redemption flags until `code` is flagged (or the deadline)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        flags = redeem_flags(cloud_url, api_token)
        if any(flag["code"] == code for flag in flags):
            return flags
        time.sleep(0.2)
    return redeem_flags(cloud_url, api_token)


def redeem_flags(cloud_url: str, api_token: str) -> list[dict[str, Any]]:
    with contextlib.suppress(httpx.HTTPError):
        response = httpx.get(
            f"{cloud_url}/v1/redeem/flags",
            headers={"Authorization": f"Bearer {api_token}"},
            timeout=5,
        )
        response.raise_for_status()
        flags: list[dict[str, Any]] = response.json()["flags"]
        return flags
    return []
