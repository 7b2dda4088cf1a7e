"""Numbered SQL migrations (`edge/migrations/NNNN_name.sql`), applied once each, in order.

Numbers are unique and increasing; each slice takes the next free number when it adds one.
"""

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
    if len(set(numbers)) != len(numbers):
        raise FatalError(f"two edge migrations share a number: {numbers}")
    return found


async def migrate(conn: aiosqlite.Connection) -> list[str]:
    """Apply pending migrations, each in its own transaction. Returns the names applied."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " number INTEGER PRIMARY KEY, name TEXT NOT NULL)"
    )
    await conn.commit()
    async with conn.execute("SELECT number FROM schema_migrations") as cur:
        done = {int(row[0]) for row in await cur.fetchall()}
    applied = []
    for number, name, sql in bundled_migrations():
        if number in done:
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
