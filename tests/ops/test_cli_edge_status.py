"""`jxc edge status`: a running edge's position and timings, for a person or as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from edge.app import create_app
from edge.eventlog.database import open_database
from edge.settings import EdgeSettings
from edge.terminals.store import issue_terminal_token
from ops import services as local
from ops.cli import main
from ops.cli.edge import render_status


async def test_the_status_reads_like_the_edge_answered(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    await (await open_database(db)).close()  # migrated, so the terminals table exists
    token = issue_terminal_token(db, "pos-1")
    settings = EdgeSettings(
        store_id="s1", db_path=db, relay_enabled=False, coldchain_intake_enabled=False
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        for n in range(3):
            await client.post("/v1/redemptions", json={"code": "NOPE", "client_id": f"c{n}"})
        status = (await client.get("/v1/status")).json()
    lines = render_status(status)
    text = "\n".join(lines)
    assert lines[0].startswith("store s1 · last seq 3")
    assert "relay: off" in text
    assert "event log: " in text
    assert "3 facts" in text
    redemptions = next(line for line in lines if "POS /v1/redemptions" in line)
    assert " 2 " in redemptions  # the first call went through Litestar: not timed
    chart = redemptions.split("|")[1]
    assert len(chart) == 13
    assert chart.strip()  # something is drawn
    assert any("commit" in line and "|" in line for line in lines)


def test_an_unreachable_edge_or_no_token_is_a_clear_error(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("JXC_EDGE_TOKEN", raising=False)
    url = f"http://127.0.0.1:{local.free_port()}"
    runner = CliRunner()
    missing = runner.invoke(main, ["edge", "status", "--url", url])
    assert missing.exit_code == 2
    assert "--token" in missing.output
    unreachable = runner.invoke(main, ["edge", "status", "--url", url, "--token", "t"])
    assert unreachable.exit_code == 1
    assert f"cannot reach the edge at {url}" in unreachable.output


def test_status_of_a_running_edge_process(
    tmp_path: Path, jxc: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    """The real command against a real `jxc edge serve`: a table, JSON, and a refused token."""
    db = tmp_path / "store.db"
    port = local.free_port()
    env = {
        **os.environ,
        "JXC_HOME": str(tmp_path),
        "JXC_STORE_ID": "s9",
        "JXC_EDGE_DB": str(db),
        "JXC_RELAY_ENABLED": "0",
        "JXC_COLDCHAIN_INTAKE": "0",
    }
    edge = local.spawn_jxc(["edge", "serve", "--port", str(port)], env, tmp_path / "edge.log")
    try:
        local.wait_for_http_ok(f"http://127.0.0.1:{port}/healthz", timeout_s=60, process=edge)
        token = issue_terminal_token(db, "pos-1")
        url = f"http://127.0.0.1:{port}"
        table = jxc("edge", "status", "--url", url, env={**env, "JXC_EDGE_TOKEN": token})
        assert table.returncode == 0, table.stderr
        assert table.stdout.startswith("store s9 · last seq")
        assert "fact queued → durable" in table.stdout
        as_json = jxc("edge", "status", "--url", url, "--token", token, "--json", env=env)
        assert json.loads(as_json.stdout)["store_id"] == "s9"
        refused = jxc("edge", "status", "--url", url, "--token", "jxct_wrong", env=env)
        assert refused.returncode == 1
        assert "refused the token (401)" in refused.stderr
    finally:
        edge.terminate()
        edge.wait(timeout=30)


def test_something_else_at_the_url_is_a_clear_error(tmp_path: Path) -> None:
    """Not an edge: a plain web server answers 404 for /v1/status, and 200 with a page that
    is not an edge's status."""
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "status").write_text("<html>hello</html>")
    port = local.free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        local.wait_for_http_ok(f"http://127.0.0.1:{port}/v1/status", timeout_s=30, process=server)
        runner = CliRunner()
        missing = runner.invoke(
            main, ["edge", "status", "--url", f"http://127.0.0.1:{port}/nowhere", "--token", "t"]
        )
        assert missing.exit_code == 1
        assert "answered 404" in missing.output
        not_an_edge = runner.invoke(
            main, ["edge", "status", "--url", f"http://127.0.0.1:{port}", "--token", "t"]
        )
        assert not_an_edge.exit_code == 1, not_an_edge.output
        assert "did not answer with an edge's status" in not_an_edge.output
    finally:
        server.terminate()
        server.wait(timeout=10)
