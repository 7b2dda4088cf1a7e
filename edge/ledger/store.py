"""Ledger tables in SQLite, and the in-memory master data the scan hot path reads.

`LedgerMaster` holds item profiles, category rules and lots in dicts. This process updates it
right after its own commits; `refresh()` (run periodically by the runtime) applies rows any
process changed since (`updated_seq` beyond the last one seen), so loads by the CLI show up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import aiosqlite
import msgspec

from edge.eventlog.writer import FIRST_SEQ, Statement
from edge.ledger.domain import CategoryRule, ItemProfile, Lot, StockKey

_json = msgspec.json.Encoder()
_docs = msgspec.json.Decoder(tuple[str, ...])


def upsert_profile(profile: ItemProfile) -> Statement:
    return (
        "INSERT INTO item_profiles(gtin, category, min_age_years, plu, min_net_g, max_net_g,"
        " updated_seq) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(gtin) DO UPDATE SET"
        " category = excluded.category, min_age_years = excluded.min_age_years,"
        " plu = excluded.plu, min_net_g = excluded.min_net_g, max_net_g = excluded.max_net_g,"
        " updated_seq = excluded.updated_seq",
        (
            profile.gtin,
            profile.category,
            profile.min_age_years,
            profile.plu,
            profile.min_net_g,
            profile.max_net_g,
            FIRST_SEQ,
        ),
    )


def upsert_rule(rule: CategoryRule) -> Statement:
    return (
        "INSERT INTO category_rules(category, required_documents, updated_seq) VALUES (?, ?, ?)"
        " ON CONFLICT(category) DO UPDATE SET required_documents = excluded.required_documents,"
        " updated_seq = excluded.updated_seq",
        (rule.category, _json.encode(rule.required_documents).decode(), FIRST_SEQ),
    )


def upsert_lot(lot: Lot) -> Statement:
    return (
        "INSERT INTO lots(gtin, lot, expiry, supplier_id, documents, updated_seq)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(gtin, lot) DO UPDATE SET"
        " expiry = excluded.expiry, supplier_id = excluded.supplier_id,"
        " documents = excluded.documents, updated_seq = excluded.updated_seq",
        (
            lot.gtin,
            lot.lot,
            lot.expiry.isoformat() if lot.expiry else None,
            lot.supplier_id,
            _json.encode(lot.documents).decode(),
            FIRST_SEQ,
        ),
    )


def set_balance(key: StockKey, quantity: int) -> Statement:
    return (
        "INSERT INTO stock(gtin, lot, location, quantity, negative, updated_seq)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(gtin, lot, location) DO UPDATE SET"
        " quantity = excluded.quantity, negative = excluded.negative,"
        " updated_seq = excluded.updated_seq",
        (*key, quantity, int(quantity < 0), FIRST_SEQ),
    )


def insert_document(
    kind: str, client_id: str, terminal_id: str, answer: bytes, digest: bytes | None = None
) -> Statement:
    return (
        "INSERT INTO ledger_documents(kind, client_id, terminal_id, seq, answer, request_digest)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (kind, client_id, terminal_id, FIRST_SEQ, answer, digest),
    )


async def find_document(
    conn: aiosqlite.Connection, kind: str, client_id: str
) -> tuple[int, bytes, bytes | None] | None:
    """(seq, answer given, request digest or None) of a recorded document."""
    async with conn.execute(
        "SELECT seq, answer, request_digest FROM ledger_documents WHERE kind = ? AND client_id = ?",
        (kind, client_id),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return int(row[0]), bytes(row[1]), None if row[2] is None else bytes(row[2])


async def balances(conn: aiosqlite.Connection, keys: Iterable[StockKey]) -> dict[StockKey, int]:
    found: dict[StockKey, int] = {}
    for key in set(keys):
        async with conn.execute(
            "SELECT quantity FROM stock WHERE gtin = ? AND lot = ? AND location = ?", key
        ) as cur:
            row = await cur.fetchone()
        found[key] = int(row[0]) if row else 0
    return found


async def stock_by_lot(conn: aiosqlite.Connection, gtin: str, location: str) -> dict[str, int]:
    async with conn.execute(
        "SELECT lot, quantity FROM stock WHERE gtin = ? AND location = ?", (gtin, location)
    ) as cur:
        return {str(r[0]): int(r[1]) for r in await cur.fetchall()}


async def stock_of_lot(conn: aiosqlite.Connection, gtin: str, lot: str) -> dict[str, int]:
    async with conn.execute(
        "SELECT location, quantity FROM stock WHERE gtin = ? AND lot = ?", (gtin, lot)
    ) as cur:
        return {str(r[0]): int(r[1]) for r in await cur.fetchall()}


async def lots_with_stock_at(conn: aiosqlite.Connection, location: str) -> list[tuple[str, str]]:
    async with conn.execute(
        "SELECT gtin, lot FROM stock WHERE location = ? AND quantity > 0 AND lot != ''",
        (location,),
    ) as cur:
        return [(str(r[0]), str(r[1])) for r in await cur.fetchall()]


async def lots_by_key(
    conn: aiosqlite.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Lot]:
    """The stored lots among `keys` (read in the writer's transaction by genealogy documents,
    so a lot born by the fact just before is seen)."""
    found: dict[tuple[str, str], Lot] = {}
    for gtin, lot in set(keys):
        async with conn.execute(
            "SELECT gtin, lot, expiry, supplier_id, documents FROM lots WHERE gtin = ? AND lot = ?",
            (gtin, lot),
        ) as cur:
            row = await cur.fetchone()
        if row is not None:
            found[(gtin, lot)] = _lot(row)
    return found


async def container_contents(
    conn: aiosqlite.Connection, container_id: str
) -> dict[tuple[str, str], int]:
    async with conn.execute(
        "SELECT gtin, lot, quantity FROM container_contents WHERE container_id = ?",
        (container_id,),
    ) as cur:
        return {(str(r[0]), str(r[1])): int(r[2]) for r in await cur.fetchall()}


def set_container_content(container_id: str, gtin: str, lot: str, quantity: int) -> Statement:
    """How much of a lot the container holds now; zero removes the row."""
    if quantity <= 0:
        return (
            "DELETE FROM container_contents WHERE container_id = ? AND gtin = ? AND lot = ?",
            (container_id, gtin, lot),
        )
    return (
        "INSERT INTO container_contents(container_id, gtin, lot, quantity, updated_seq)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(container_id, gtin, lot) DO UPDATE SET"
        " quantity = excluded.quantity, updated_seq = excluded.updated_seq",
        (container_id, gtin, lot, quantity, FIRST_SEQ),
    )


async def event_id_of(conn: aiosqlite.Connection, seq: int) -> str:
    async with conn.execute("SELECT event_id FROM events WHERE seq = ?", (seq,)) as cur:
        row = await cur.fetchone()
    return str(uuid.UUID(bytes=bytes(row[0]))) if row else ""


def _profile(row: Any) -> ItemProfile:
    return ItemProfile(
        gtin=row[0],
        category=row[1],
        min_age_years=int(row[2]),
        plu=row[3],
        min_net_g=row[4],
        max_net_g=row[5],
    )


def _lot(row: Any) -> Lot:
    return Lot(
        gtin=row[0],
        lot=row[1],
        expiry=date.fromisoformat(row[2]) if row[2] else None,
        supplier_id=row[3],
        documents=_docs.decode(row[4]),
    )


class LedgerMaster:
    """Item profiles, category rules and lots in memory (see the module docstring)."""

    def __init__(self, reader: aiosqlite.Connection) -> None:
        self._reader = reader
        self.profiles: dict[str, ItemProfile] = {}
        self.by_plu: dict[str, str] = {}
        self.rules: dict[str, CategoryRule] = {}
        self.lots: dict[tuple[str, str], Lot] = {}
        self._lots_by_gtin: dict[str, dict[str, Lot]] = {}
        self._seen = {"item_profiles": 0, "category_rules": 0, "lots": 0}

    async def refresh(self) -> int:
        """Apply rows changed since the last refresh; returns how many."""
        changed = 0
        for table, columns in (
            ("item_profiles", "gtin, category, min_age_years, plu, min_net_g, max_net_g"),
            ("category_rules", "category, required_documents"),
            ("lots", "gtin, lot, expiry, supplier_id, documents"),
        ):
            async with self._reader.execute(
                f"SELECT {columns}, updated_seq FROM {table} WHERE updated_seq > ?",
                (self._seen[table],),
            ) as cur:
                rows = list(await cur.fetchall())
            for row in rows:
                self._seen[table] = max(self._seen[table], int(row[-1]))
            if table == "item_profiles":
                self.remember_profiles(_profile(r) for r in rows)
            elif table == "category_rules":
                self.remember_rules(
                    CategoryRule(category=r[0], required_documents=_docs.decode(r[1])) for r in rows
                )
            else:
                self.remember_lots(_lot(r) for r in rows)
            changed += len(rows)
        return changed

    def remember_profiles(self, profiles: Iterable[ItemProfile]) -> None:
        for profile in profiles:
            old = self.profiles.get(profile.gtin)
            if old is not None and old.plu is not None:
                self.by_plu.pop(old.plu, None)
            self.profiles[profile.gtin] = profile
            if profile.plu is not None:
                self.by_plu[profile.plu] = profile.gtin

    def remember_rules(self, rules: Iterable[CategoryRule]) -> None:
        for rule in rules:
            self.rules[rule.category] = rule

    def remember_lots(self, lots: Iterable[Lot]) -> None:
        for lot in lots:
            self.lots[(lot.gtin, lot.lot)] = lot
            self._lots_by_gtin.setdefault(lot.gtin, {})[lot.lot] = lot

    def lots_of(self, gtin: str) -> Mapping[str, Lot]:
        return self._lots_by_gtin.get(gtin, {})

    def rule_for(self, gtin: str) -> CategoryRule | None:
        profile = self.profiles.get(gtin)
        return None if profile is None else self.rules.get(profile.category)
