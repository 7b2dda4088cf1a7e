"""Settings come from JXC_* variables, with safe loopback defaults, and fail fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.settings import CloudSettings
from cloud.settings import SettingsError as CloudSettingsError
from edge.settings import EdgeSettings, SettingsError


def test_edge_defaults_are_loopback() -> None:
    settings = EdgeSettings.from_env({})
    assert settings.host == "127.0.0.1"
    assert settings.store_id == "store-001"
    assert settings.db_path == Path(".jxc/edge/store-001.db")
    assert settings.nats_url.startswith("nats://127.0.0.1:")


def test_edge_settings_from_env() -> None:
    settings = EdgeSettings.from_env(
        {
            "JXC_STORE_ID": "sh-042",
            "JXC_EDGE_PORT": "9000",
            "JXC_HOME": "/var/lib/jxc",
            "JXC_RELAY_ENABLED": "0",
        }
    )
    assert (settings.store_id, settings.port, settings.relay_enabled) == ("sh-042", 9000, False)
    assert settings.db_path == Path("/var/lib/jxc/edge/sh-042.db")


@pytest.mark.parametrize(
    "env",
    [
        {"JXC_STORE_ID": "a.b"},
        {"JXC_STORE_ID": ""},
        {"JXC_EDGE_PORT": "eighty"},
        {"JXC_STORE_ID": "x" * 65},
    ],
)
def test_bad_edge_settings_fail_fast(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        EdgeSettings.from_env(env)


def test_cloud_defaults_use_embedded_clickhouse_under_home(tmp_path: Path) -> None:
    settings = CloudSettings.from_env({"JXC_HOME": str(tmp_path)})
    assert settings.clickhouse_url == f"chdb:///{(tmp_path / 'cloud' / 'chdb').resolve()}"
    assert settings.api_token is None
    server = CloudSettings.from_env({"JXC_CLICKHOUSE_URL": "http://127.0.0.1:8123"})
    assert server.clickhouse_url == "http://127.0.0.1:8123"
    pooled = CloudSettings.from_env({"JXC_INGEST_PREPARE_WORKERS": "3"})
    assert pooled.ingest_prepare_workers == 3


@pytest.mark.parametrize(
    "env",
    [
        {"JXC_CLICKHOUSE_URL": "mysql://x"},
        {"JXC_CLICKHOUSE_DATABASE": "jxc; DROP"},
        {"JXC_CLOUD_PORT": "-"},
        {"JXC_INGEST_PREPARE_WORKERS": "-1"},
        {"JXC_INGEST_PREPARE_WORKERS": "two"},
        {"JXC_INGEST_PREPARE_MIN_BYTES": "-5"},
    ],
)
def test_bad_cloud_settings_fail_fast(env: dict[str, str]) -> None:
    with pytest.raises(CloudSettingsError):
        CloudSettings.from_env(env)
