"""Terminal credentials: issued once, stored as SHA-256, checked on every POS call.

Credentials are configuration, not business facts, so they are not on the hash chain; the
table is written by `jxc edge terminal add` (which may run while the edge runs: SQLite's
write lock keeps both safe) and read here through a cache.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from pathlib import Path

import aiosqlite

TOKEN_PREFIX = "jxct_"


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def issue_terminal_token(db_path: Path, terminal_id: str) -> str:
    """Create or rotate a terminal's token; returns the token (shown once, never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with sqlite3.connect(db_path, timeout=10) as conn:
        conn.execute(
            "INSERT INTO terminals(terminal_id, token_sha256, created_at_us) VALUES (?, ?, ?)"
            " ON CONFLICT(terminal_id) DO UPDATE SET token_sha256 = excluded.token_sha256,"
            " created_at_us = excluded.created_at_us, revoked_at_us = NULL",
            (terminal_id, token_digest(token), time.time_ns() // 1000),
        )
    return token


def revoke_terminal(db_path: Path, terminal_id: str) -> bool:
    with sqlite3.connect(db_path, timeout=10) as conn:
        cur = conn.execute(
            "UPDATE terminals SET revoked_at_us = ?"
            " WHERE terminal_id = ? AND revoked_at_us IS NULL",
            (time.time_ns() // 1000, terminal_id),
        )
        return cur.rowcount > 0


def list_terminals(db_path: Path) -> list[tuple[str, bool]]:
    with sqlite3.connect(db_path, timeout=10) as conn:
        rows = conn.execute(
            "SELECT terminal_id, revoked_at_us IS NULL FROM terminals ORDER BY terminal_id"
        ).fetchall()
    return [(str(terminal_id), bool(active)) for terminal_id, active in rows]


class TerminalAuthenticator:
    """token → terminal id. Hits are cached for `ttl_s` so a revocation takes effect soon."""

    def __init__(self, reader: aiosqlite.Connection, *, ttl_s: float = 30.0) -> None:
        self._reader = reader
        self._ttl_s = ttl_s
        self._cache: dict[bytes, tuple[str, float]] = {}

    def cached(self, token: str, *, now_monotonic: float) -> str | None:
        """The terminal of a token checked less than `ttl_s` ago, without touching SQLite
        (every POS call asks this first: a dict lookup and one SHA-256 of the token)."""
        cached = self._cache.get(token_digest(token))
        if cached is not None and now_monotonic - cached[1] < self._ttl_s:
            return cached[0]
        return None

    async def authenticate(self, token: str, *, now_monotonic: float) -> str | None:
        digest = token_digest(token)
        cached = self._cache.get(digest)
        if cached is not None and now_monotonic - cached[1] < self._ttl_s:
            return cached[0]
        async with self._reader.execute(
            "SELECT terminal_id FROM terminals WHERE token_sha256 = ? AND revoked_at_us IS NULL",
            (digest,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            self._cache.pop(digest, None)
            return None
        terminal_id = str(row[0])
        self._cache[digest] = (terminal_id, now_monotonic)
        return terminal_id
