"""Opening the store database: WAL, full durability, migrations applied."""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from edge.eventlog.migrations import migrate


async def open_database(path: Path, *, read_only: bool = False) -> aiosqlite.Connection:
    """Open (and for writers, migrate) the store database.

    `isolation_level=None` leaves transactions to us: the writer issues BEGIN IMMEDIATE.
    synchronous=FULL makes every commit survive power loss; group commit amortizes the fsync.
    """
    if read_only:
        conn = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        await conn.execute("PRAGMA busy_timeout = 5000")
        return conn
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, isolation_level=None)
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA synchronous = FULL")
    await conn.execute("PRAGMA busy_timeout = 5000")
    await conn.execute("PRAGMA foreign_keys = ON")
    await migrate(conn)
    return conn
