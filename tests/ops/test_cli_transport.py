"""`jxc transport status` against a real `jxc cloud serve` (embedded ClickHouse, real NATS)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ops import services as local

pytestmark = pytest.mark.integration


Jxc = Callable[..., subprocess.CompletedProcess[str]]  # the `jxc` fixture (tests/conftest.py)


def test_transport_status_reads_the_cloud(
    tmp_path: Path, nats_server: local.LocalServer, jxc: Jxc
) -> None:
    port = local.free_port()
    env = {
        **os.environ,
        "JXC_HOME": str(tmp_path),
        "JXC_NATS_URL": nats_server.url,
        "JXC_CLOUD_API_TOKEN": "jxca_test_token",
        "JXC_CLOUD_URL": f"http://127.0.0.1:{port}",
    }
    cloud = local.spawn_jxc(["cloud", "serve", "--port", str(port)], env, tmp_path / "cloud.log")
    try:
        local.wait_for_http_ok(f"http://127.0.0.1:{port}/healthz", timeout_s=60, process=cloud)
        healthy = jxc("transport", "status", "--json", env=env)
        assert healthy.returncode == 0, healthy.stderr
        report = json.loads(healthy.stdout)
        assert report["stores"] == []
        assert report["dead_letters"] == 0
        table = jxc("transport", "status", env=env)
        assert table.returncode == 0
        assert "cloud mark" in table.stdout
        refused = jxc("transport", "status", "--token", "wrong", env=env)
        assert refused.returncode == 1
        assert "401" in refused.stderr
        # The ingest's marks from memory: the same token, the same refusal without it.
        ingest_url = f"http://127.0.0.1:{port}/v1/transport/ingest"
        marks = httpx.get(ingest_url, headers={"Authorization": "Bearer jxca_test_token"})
        assert marks.status_code == 200
        assert marks.json()["marks"] == {}
        assert marks.json()["counters"]["dead_letters"] == 0
        assert httpx.get(ingest_url).status_code == 401
        wrong = httpx.get(ingest_url, headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401
    finally:
        cloud.terminate()
        cloud.wait(timeout=20)
    gone = jxc("transport", "status", env=env)  # the cloud is down now
    assert gone.returncode == 1
    assert "unreachable" in gone.stderr
