"""The `jxc` command line: real processes, real files, bad arguments refused clearly."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from ops import services as local
from ops.cli import main

Jxc = Callable[..., subprocess.CompletedProcess[str]]  # the `jxc` fixture (tests/conftest.py)


def test_help_explains_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("services", "edge", "cloud", "demo"):
        assert command in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["edge", "serve", "--port", "eighty"],
        ["demo", "--scans", "0"],
        ["services", "up", "--nats-port", "x"],
        ["no-such-command"],
    ],
)
def test_bad_arguments_exit_2_with_a_message(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "Error" in result.output


def test_terminal_tokens_are_issued_listed_and_revoked(tmp_path: Path) -> None:
    db = str(tmp_path / "store.db")
    runner = CliRunner()
    added = runner.invoke(main, ["edge", "terminal", "add", "pos-7", "--db", db])
    assert added.exit_code == 0, added.output
    token = added.stdout.strip().splitlines()[0]
    assert token.startswith("jxct_")
    with sqlite3.connect(db) as conn:  # only the digest is stored
        stored = conn.execute("SELECT token_sha256 FROM terminals").fetchone()[0]
    assert token.encode() not in stored
    listed = runner.invoke(main, ["edge", "terminal", "list", "--db", db])
    assert "pos-7\tactive" in listed.output
    assert runner.invoke(main, ["edge", "terminal", "revoke", "pos-7", "--db", db]).exit_code == 0
    assert "pos-7\trevoked" in runner.invoke(main, ["edge", "terminal", "list", "--db", db]).output
    assert runner.invoke(main, ["edge", "terminal", "revoke", "pos-7", "--db", db]).exit_code == 1


def test_items_load_records_events_and_refuses_bad_files(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    good = tmp_path / "items.csv"
    good.write_text(
        "gtin,name,price_fen,unit\n6901234567892,鲈鱼,3990,kg\n96385074,Milk,650,each\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("gtin,name,price_fen\n6901234567893,Broken check digit,100\n")
    runner = CliRunner()
    result = runner.invoke(main, ["edge", "items", "load", str(good), "--db", str(db)])
    assert result.exit_code == 0, result.output
    refused = runner.invoke(main, ["edge", "items", "load", str(bad), "--db", str(db)])
    assert refused.exit_code == 2
    assert "line 2" in refused.output
    with sqlite3.connect(db) as conn:
        items = conn.execute("SELECT gtin, price_fen, unit FROM items ORDER BY gtin").fetchall()
        events = conn.execute("SELECT type FROM events").fetchall()
    assert items == [("00000096385074", 650, "each"), ("06901234567892", 3990, "kg")]
    assert events == [("ItemMasterUpdated",), ("ItemMasterUpdated",)]


def test_services_up_status_down(tmp_path: Path, jxc: Jxc) -> None:
    home = str(tmp_path / "home")
    ports = [str(local.free_port()) for _ in range(3)]
    up = jxc(
        "services",
        "up",
        "--home",
        home,
        "--nats-port",
        ports[0],
        "--nats-monitor-port",
        ports[1],
        "--mqtt-port",
        ports[2],
    )
    try:
        assert up.returncode == 0, up.stderr
        status = jxc("services", "status", "--home", home, "--json")
        report = json.loads(status.stdout)
        assert report["nats"]["running"]
        assert report["mosquitto"]["running"]
        assert report["nats"]["url"] == f"nats://127.0.0.1:{ports[0]}"
        again = jxc("services", "up", "--home", home)  # idempotent: already running
        assert again.returncode == 0
    finally:
        down = jxc("services", "down", "--home", home)
    assert down.returncode == 0
    assert jxc("services", "status", "--home", home).returncode == 1


def test_demo_lands_every_event_exactly_once(tmp_path: Path, jxc: Jxc) -> None:
    result = jxc(
        "demo",
        "--headless",
        "--json",
        "--scans",
        "300",
        env={"JXC_HOME": str(tmp_path)},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["scans"] == 300
    assert report["lost"] == 0
    assert report["duplicated"] == 0
    assert report["events_edge"] == report["events_clickhouse"] > 300
    # Scan-to-redeem at two stores: the landing figures are sums over both stores.
    assert set(report["stores"]) == {"demo-store-1", "demo-store-2"}
    for store in report["stores"].values():
        assert store["events_edge"] == store["events_clickhouse"] > 0
        assert store["lost"] == store["duplicated"] == 0
    assert sum(s["events_edge"] for s in report["stores"].values()) == report["events_edge"]
    assert report["redemptions"] == 6  # voucher, signed, coupon, pickup, multi-store code twice
    assert report["redemptions_rejected"] == 3  # already redeemed, conditions, forged
    assert report["redemption_retries"] == 1
    assert report["redeem_unexpected"] == []
    assert report["double_redemptions_flagged"] == 1
    # The day's supplier lot traced across both stores, proven offline, exported, recalled.
    trace = report["trace"]
    assert trace["stores"] == ["demo-store-1", "demo-store-2"]
    assert trace["descendants"] >= 3
    assert trace["receipts"] >= 5
    assert trace["report_verified"] is True
    assert trace["epcis_events"] > 0
    assert trace["fsma_rows"] > 0
    assert trace["recalled_scan_verdict"] == "block"
    assert trace["problems"] == []
    assert report["ok"] is True
