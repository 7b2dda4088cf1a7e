"""`jxc edge …`: run the store edge, manage its terminals and item master."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

if TYPE_CHECKING:
    from edge.settings import EdgeSettings


def _settings(**overrides: object) -> EdgeSettings:
    import msgspec

    from edge.settings import EdgeSettings, SettingsError

    try:
        settings = EdgeSettings.from_env(os.environ)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    given = {k: v for k, v in overrides.items() if v is not None}
    return msgspec.structs.replace(settings, **given)


@click.group()
def edge() -> None:
    """The store edge: POS scan verification, event log, relay to NATS.

    Settings come from JXC_* environment variables (JXC_STORE_ID, JXC_EDGE_DB, JXC_NATS_URL,
    JXC_EDGE_HOST, JXC_EDGE_PORT); options override them.
    """


@edge.command()
@click.option("--store", "store_id", help="Store id (default JXC_STORE_ID or store-001).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--host", help="Listen address (default 127.0.0.1).")
@click.option("--port", type=int, help="Listen port (default 8100).")
@click.option("--nats-url", help="NATS server (default nats://127.0.0.1:14222).")
@click.option("--log-level", default="info", show_default=True)
def serve(
    store_id: str | None,
    db_path: Path | None,
    host: str | None,
    port: int | None,
    nats_url: str | None,
    log_level: str,
) -> None:
    """Serve the POS API (OpenAPI at /schema) and relay events to NATS."""
    import uvicorn

    from edge.app import create_app
    from ops.logs import configure_logging

    configure_logging(log_level)
    settings = _settings(
        store_id=store_id, db_path=db_path, host=host, port=port, nats_url=nats_url
    )
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        log_level=log_level,
    )


@edge.command()
@click.option("--url", help="The running edge (default http://JXC_EDGE_HOST:JXC_EDGE_PORT).")
@click.option(
    "--token",
    envvar="JXC_EDGE_TOKEN",
    required=True,
    help="A terminal's bearer token (or JXC_EDGE_TOKEN); `jxc edge terminal add` issues one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the edge's answer as JSON.")
def status(url: str | None, token: str, as_json: bool) -> None:
    """How the running edge is doing: its event log and relay position, the log writer's
    commits, and how long the edge itself takes to answer the POS hot routes.

    Timings are the edge's own (from a request reaching it to its answer; from a fact queued
    to its being durable), since the edge started, as percentiles and a chart of their
    distribution from 0.1 ms to 1 s. What a terminal waits beyond them is the network and the
    terminal itself.
    """
    import httpx

    if url is None:
        settings = _settings()
        url = f"http://{settings.host}:{settings.port}"
    try:
        response = httpx.get(
            f"{url.rstrip('/')}/v1/status",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach the edge at {url}: {exc}") from exc
    if response.status_code == 401:
        raise click.ClickException(f"the edge at {url} refused the token (401)")
    if response.status_code != 200:
        raise click.ClickException(f"the edge at {url} answered {response.status_code}")
    if as_json:
        click.echo(response.text)
        return
    try:
        lines = render_status(response.json())
    except (ValueError, KeyError, TypeError) as exc:  # not JSON, or not an edge's status
        raise click.ClickException(f"{url} did not answer with an edge's status") from exc
    for line in lines:
        click.echo(line)


# Display bins of the timing charts: upper bounds in ms (the last also holds anything longer).
_CHART_BINS_MS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
_BARS = " ▁▂▃▄▅▆▇█"


def render_status(status: dict[str, Any]) -> list[str]:
    """`jxc edge status` for a person: one line per fact, a chart per timing."""
    import msgspec

    from edge.telemetry import LatencySnapshot

    lines = [
        f"store {status['store_id']} · last seq {status['last_seq']:,} · "
        f"{status['outbox_pending']:,} events not yet in JetStream · {status['items']:,} items"
    ]
    relay = status.get("relay")
    if relay is None:
        lines.append("relay: off (offline edge)")
    else:
        lines.append(
            f"relay: {'connected' if relay['connected'] else 'NOT CONNECTED'} · published "
            f"through seq {relay['last_published_seq']:,} · cloud has through "
            f"{relay['cloud_hwm']:,} · {relay['log_bytes'] / 1e6:,.1f} MB log"
            + (" · OVER ITS DISK BUDGET" if relay["over_budget"] else "")
        )
    writer = status["writer"]
    lines.append(
        f"event log: {writer['commits']:,} commits, {writer['facts']:,} facts "
        f"({writer['facts_per_commit']} a commit), {writer['events']:,} events, "
        f"{writer['rejected']:,} rejected, {writer['queued']} queued (most {writer['queued_max']})"
    )
    lines.append(f"{'timings since start':30}  {'count':>9} {'p50':>8} {'p99':>8} {'max':>8}")
    charted = [(f"POS {path}", f"pos {path}") for path in status["pos"]]
    charted += [("commit", "writer commit"), ("fact queued → durable", "writer fact_wait")]
    for label, name in charted:
        snapshot = msgspec.convert(status["histograms"][name], LatencySnapshot)
        summary = snapshot.summary()
        counts = snapshot.binned(_CHART_BINS_MS)
        top = max(counts) or 1
        chart = "".join(_BARS[-(-count * (len(_BARS) - 1) // top)] for count in counts)
        lines.append(
            f"  {label:28}  {summary.count:>9,} {_ms(summary.p50_ms)} {_ms(summary.p99_ms)}"
            f" {_ms(summary.max_ms)}  |{chart}|"
        )
    bins = " ".join(f"{upper:g}" for upper in _CHART_BINS_MS)
    lines.append(f"  (charts: how many took up to {bins} ms, left to right)")
    return lines


def _ms(value: float) -> str:
    return f"{value:>6.2f}ms" if value < 100 else f"{value:>6.0f}ms"


@edge.group()
def terminal() -> None:
    """POS terminals and their bearer tokens."""


def _db(db_path: Path | None) -> Path:
    from edge.eventlog.database import open_database

    path = db_path or _settings().db_path

    async def create() -> None:  # migrate, so the terminals table exists
        conn = await open_database(path)
        await conn.close()

    asyncio.run(create())
    return Path(path)


DB_OPTION = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Store database (default from JXC_EDGE_DB / JXC_STORE_ID).",
)


@terminal.command("add")
@click.argument("terminal_id")
@DB_OPTION
def terminal_add(terminal_id: str, db_path: Path | None) -> None:
    """Issue a token for TERMINAL_ID (rotates it if the terminal exists).

    The token is printed once, on stdout; only its SHA-256 is stored.
    """
    from edge.terminals.store import issue_terminal_token

    if not terminal_id.strip() or len(terminal_id) > 64:
        raise click.BadParameter("1-64 characters", param_hint="TERMINAL_ID")
    token = issue_terminal_token(_db(db_path), terminal_id)
    click.echo(token)
    click.echo(f"terminal {terminal_id}: token issued; configure the POS with it", err=True)


@terminal.command("revoke")
@click.argument("terminal_id")
@DB_OPTION
def terminal_revoke(terminal_id: str, db_path: Path | None) -> None:
    """Revoke TERMINAL_ID's token (takes effect within 30 s)."""
    from edge.terminals.store import revoke_terminal

    if not revoke_terminal(_db(db_path), terminal_id):
        click.echo(f"no active terminal {terminal_id!r}", err=True)
        sys.exit(1)
    click.echo(f"terminal {terminal_id} revoked")


@terminal.command("list")
@DB_OPTION
def terminal_list(db_path: Path | None) -> None:
    """List terminals and whether their token is active."""
    from edge.terminals.store import list_terminals

    for terminal_id, active in list_terminals(_db(db_path)):
        click.echo(f"{terminal_id}\t{'active' if active else 'revoked'}")


@edge.group()
def items() -> None:
    """The store's item master."""


@items.command("load")
@click.argument("csv_file", type=click.File("r", encoding="utf-8"))
@DB_OPTION
def items_load(csv_file: TextIO, db_path: Path | None) -> None:
    """Load items from CSV_FILE (columns gtin,name,price_fen[,unit]; unit each|kg).

    Each item becomes an ItemMasterUpdated event on the store's chain.
    """
    from edge.catalog.service import ItemFileError, parse_item_csv, record_item_master
    from edge.clock import random_event_id, utc_now

    try:
        parsed = parse_item_csv(csv_file.read())
    except ItemFileError as exc:
        raise click.BadParameter(str(exc), param_hint="CSV_FILE") from exc
    settings = _settings()
    count = asyncio.run(
        record_item_master(
            _db(db_path),
            store_id=settings.store_id,
            items=parsed,
            clock=utc_now,
            new_event_id=random_event_id,
        )
    )
    click.echo(f"{count} items recorded")


KEY_OPTION = click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Signing key file (default JXC_EDGE_SIGNING_KEY or JXC_HOME/edge/<store>-checkpoint.key).",
)


@edge.command()
@KEY_OPTION
def keygen(key_path: Path | None) -> None:
    """Rotate the store's checkpoint signing key (Ed25519).

    Writes a new private key (PEM, mode 0600) to the key file and keeps the current one beside
    it as <file>.old-<UTC timestamp>. The edge loads its key when it starts: restart it, and it
    puts the new public key on the chain (CheckpointKeyAnnounced) before signing anything with
    it. Checkpoints signed earlier stay verifiable with the old key, which the chain carries.
    Keep the key file out of backups that leave the store, and out of the repository.
    """
    from edge.clock import utc_now
    from edge.evidence.keys import SigningKeyError, rotate_signing_key
    from ops.logs import configure_logging

    configure_logging("warning")  # on stderr: stdout carries the key id only
    settings = _settings(signing_key_path=key_path)
    path = settings.signing_key_path
    assert path is not None  # from_env always names one
    try:
        rotation = rotate_signing_key(path, now=utc_now())
    except SigningKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    if rotation.old_kept_at is not None:
        old = rotation.old.key_id if rotation.old else "unreadable"
        click.echo(f"old key {old} kept at {rotation.old_kept_at}", err=True)
    click.echo(
        f"new key {rotation.new.key_id} in {path}; restart the edge to announce it", err=True
    )
    click.echo(rotation.new.key_id)


@edge.command()
@DB_OPTION
@KEY_OPTION
def checkpoint(db_path: Path | None, key_path: Path | None) -> None:
    """Sign the store's unsigned events now and print each checkpoint (JSON, one a line).

    For a stopped edge (a running edge signs every JXC_CHECKPOINT_INTERVAL_S, and at
    shutdown). Creates the signing key if there is none, and puts it on the chain first.
    """
    import msgspec

    from edge.clock import utc_now
    from edge.evidence.checkpointer import checkpoint_store
    from edge.evidence.keys import SigningKeyError
    from ops.logs import configure_logging

    configure_logging("info")  # on stderr: stdout carries the checkpoints only
    settings = _settings(db_path=db_path, signing_key_path=key_path)
    if not settings.db_path.exists():
        raise click.UsageError(f"no store database at {settings.db_path}")
    try:
        signed, status = asyncio.run(checkpoint_store(settings, clock=utc_now))
    except SigningKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    for seq, signed_checkpoint in signed:
        report = {
            "store_id": settings.store_id,
            "seq": seq,
            "key_id": signed_checkpoint.key_id,
            "first_seq": signed_checkpoint.first_seq,
            "last_seq": signed_checkpoint.last_seq,
            "head_hash": signed_checkpoint.head_hash.hex(),
            "merkle_root": signed_checkpoint.merkle_root.hex(),
            "signature": signed_checkpoint.signature.hex(),
        }
        click.echo(msgspec.json.encode(report).decode())
    if not signed:
        click.echo(
            f"nothing new to sign: the chain is signed through seq {status.signed_through}",
            err=True,
        )
    if status.events_gone:
        click.echo(f"{status.events_gone} unsigned events were already pruned", err=True)
