"""`jxc cloud …`: ingest + API on ClickHouse."""

from __future__ import annotations

import gc
import os
import secrets
from pathlib import Path

import click


def api_token_file(home: Path) -> Path:
    return home / "cloud" / "api-token"


def ensure_api_token(home: Path) -> str:
    """The deployment's API token: JXC_CLOUD_API_TOKEN, else a file created once (mode 0600)."""
    path = api_token_file(home)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = "jxca_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


@click.group()
def cloud() -> None:
    """The cloud: JetStream ingest into ClickHouse, and the API.

    Settings come from JXC_* environment variables: JXC_CLICKHOUSE_URL (default the embedded
    engine chdb:///<JXC_HOME>/cloud/chdb; http(s)://… for a real server), JXC_CLICKHOUSE_DATABASE,
    JXC_NATS_URL, JXC_CLOUD_HOST, JXC_CLOUD_PORT, JXC_CLOUD_API_TOKEN, JXC_INGEST_ENABLED;
    ingest tuning: JXC_INGEST_PARTITIONS (e.g. 0-3), JXC_INGEST_FETCH_BATCH,
    JXC_INGEST_ACK_WAIT_S, JXC_INGEST_PREPARE_WORKERS (processes that decode and verify large
    fetches; default cores - 2), JXC_INGEST_PREPARE_MIN_BYTES.
    """


@cloud.command()
@click.option("--host", help="Listen address (default 127.0.0.1).")
@click.option("--port", type=int, help="Listen port (default 8200).")
@click.option("--log-level", default="info", show_default=True)
def serve(host: str | None, port: int | None, log_level: str) -> None:
    """Run ingest + API (+ scheduled jobs) in one process.

    With the embedded engine this must be the only process using the data dir. Without
    JXC_CLOUD_API_TOKEN a token is created under JXC_HOME/cloud/api-token (mode 0600).
    """
    import msgspec
    import uvicorn

    from cloud.app import create_app
    from cloud.settings import CloudSettings, SettingsError
    from ops.logs import configure_logging

    configure_logging(log_level)
    # Ingest allocates millions of short-lived objects per second and makes no cycles: a
    # larger first generation keeps the cyclic GC from rescanning the heap every few ms.
    gc.set_threshold(200_000, 50, 100)
    try:
        settings = CloudSettings.from_env(os.environ)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    overrides: dict[str, object] = {k: v for k, v in {"host": host, "port": port}.items() if v}
    if not settings.api_token:
        overrides["api_token"] = ensure_api_token(settings.home)
        click.echo(f"API token: {api_token_file(settings.home)}", err=True)
    settings = msgspec.structs.replace(settings, **overrides)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        log_level=log_level,
    )
