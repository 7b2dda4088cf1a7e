"""`jxc edge …`: run the store edge, manage its terminals and item master."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

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
