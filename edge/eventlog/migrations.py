"""Numbered SQL migrations (`edge/migrations/NNNN_name.sql`), applied once each, in order."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources

import aiosqlite

from edge.errors import FatalError

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def bundled_migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration shipped with the edge, sorted by number."""
    found = []
    for entry in resources.files("edge").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"edge migrations must be numbered 1..n without gaps: {numbers}")
    return found


async def migrate(conn: aiosqlite.Connection) -> list[str]:
    """Apply pending migrations, each in its own transaction. Returns the names applied."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " number INTEGER PRIMARY KEY, name TEXT NOT NULL)"
    )
    await conn.commit()
    async with conn.execute("SELECT coalesce(max(number), 0) FROM schema_migrations") as cur:
        row = await cur.fetchone()
    current = int(row[0]) if row else 0
    applied = []
    for number, name, sql in bundled_migrations():
        if number <= current:
            continue
        # executescript commits first; wrap the script so it is all-or-nothing.
        try:
            await conn.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\n"
                f"INSERT INTO schema_migrations(number, name) VALUES ({number}, '{name}');\n"
                "COMMIT;"
            )
        except sqlite3.Error as exc:
            if conn.in_transaction:
                await conn.rollback()
            raise FatalError(f"edge migration {name} failed: {exc}") from exc
        applied.append(name)
    return applied
