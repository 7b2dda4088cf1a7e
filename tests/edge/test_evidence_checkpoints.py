"""Signed chain checkpoints on a real SQLite edge: the root is the RFC 6962 root of the stored
hashes, the signature verifies with the key the chain announced, restarts neither skip nor
repeat, a rotated key is announced before use, an idle store stops signing, tampering shows,
pruned events are skipped with a log line; plus `jxc edge checkpoint` and `jxc edge keygen`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sqlite3
import stat
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
import structlog
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from edge.app import EdgeRuntime
from edge.catalog.domain import Item
from edge.catalog.service import record_item_master
from edge.clock import random_event_id, utc_now
from edge.eventlog.database import open_database
from edge.evidence.domain import CHECKPOINT_TYPE, ChainLink, plan_checkpoint
from edge.evidence.keys import SigningKeyError, read_signing_key, rotate_signing_key
from edge.settings import EdgeSettings
from ops.cli.edge import edge as edge_cli
from protocol.envelope import decode_envelope, encode_envelope, recompute_hash, verify_chain
from protocol.evidence import (
    checkpoint_message,
    inclusion_proof,
    merkle_root,
    root_from_proof,
    signature_holds,
)
from protocol.trace_events import ChainCheckpointSigned, CheckpointKeyAnnounced

STORE = "s1"
BASS = Item(gtin="06901234567892", name="鲈鱼 sea bass", price_fen=3990, unit="kg")
# The `store_db` fixture (tests/edge/conftest.py) is a migrated log of store s1 with this item.


def settings_for(db: Path, **options: object) -> EdgeSettings:
    chosen: dict[str, object] = {
        "signing_key_path": db.parent / "keys" / f"{STORE}-checkpoint.key",
        **options,
    }
    return EdgeSettings(
        store_id=STORE,
        db_path=db,
        relay_enabled=False,
        coldchain_intake_enabled=False,
        **chosen,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def running(settings: EdgeSettings) -> AsyncIterator[EdgeRuntime]:
    runtime = EdgeRuntime(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def scan(runtime: EdgeRuntime, n: int) -> None:
    await asyncio.gather(
        *(
            runtime.scan_service.verify(
                "6901234567892", terminal_id="pos-1", operator_id="", occurred_at=None
            )
            for _ in range(n)
        )
    )


def stored(db: Path) -> list[tuple[int, str, bytes, bytes]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT seq, type, hash, envelope FROM events ORDER BY seq")
        return [(int(s), str(t), bytes(h), bytes(e)) for s, t, h, e in rows]


def checkpoints(db: Path) -> list[tuple[int, ChainCheckpointSigned]]:
    found = []
    for seq, _, _, envelope in stored(db):
        event = decode_envelope(envelope).event()
        if isinstance(event, ChainCheckpointSigned):
            found.append((seq, event))
    return found


def announcements(db: Path) -> list[tuple[int, CheckpointKeyAnnounced]]:
    found = []
    for seq, _, _, envelope in stored(db):
        event = decode_envelope(envelope).event()
        if isinstance(event, CheckpointKeyAnnounced):
            found.append((seq, event))
    return found


def hashes(db: Path, first_seq: int, last_seq: int) -> list[bytes]:
    return [h for seq, _, h, _ in stored(db) if first_seq <= seq <= last_seq]


def assert_vouched(db: Path, seq: int, checkpoint: ChainCheckpointSigned) -> None:
    """What a third party checks: root over the stored hashes, head, signature by a key the
    chain announced before this checkpoint."""
    covered = hashes(db, checkpoint.first_seq, checkpoint.last_seq)
    assert len(covered) == checkpoint.last_seq - checkpoint.first_seq + 1
    assert merkle_root(covered) == checkpoint.merkle_root
    assert covered[-1] == checkpoint.head_hash
    keys = {a.key_id: a.public_key for s, a in announcements(db) if s < seq}
    assert checkpoint.key_id in keys, "signed with a key the chain had not announced"
    message = checkpoint_message(
        store_id=STORE,
        key_id=checkpoint.key_id,
        first_seq=checkpoint.first_seq,
        last_seq=checkpoint.last_seq,
        head_hash=checkpoint.head_hash,
        merkle_root=checkpoint.merkle_root,
    )
    assert signature_holds(keys[checkpoint.key_id], message, checkpoint.signature)


async def test_a_checkpoint_vouches_for_the_stored_hashes(store_db: Path) -> None:
    async with running(settings_for(store_db)) as runtime:
        await scan(runtime, 40)
        assert runtime.checkpointer is not None
        ((seq, checkpoint),) = await runtime.checkpointer.checkpoint_now()
    assert (checkpoint.first_seq, checkpoint.last_seq) == (1, seq - 1)
    assert_vouched(store_db, seq, checkpoint)
    key = read_signing_key(store_db.parent / "keys" / f"{STORE}-checkpoint.key")
    assert checkpoint.key_id == key.key_id
    # Any one event's inclusion proof leads to the signed root.
    covered = hashes(store_db, 1, checkpoint.last_seq)
    for index in (0, 17, len(covered) - 1):
        proof = inclusion_proof(covered, index)
        assert root_from_proof(covered[index], index, len(covered), proof) == checkpoint.merkle_root
    chain = [decode_envelope(e) for _, _, _, e in stored(store_db)]
    assert verify_chain(chain) is None


async def test_the_key_file_is_private_and_made_once(store_db: Path) -> None:
    settings = settings_for(store_db)
    assert settings.signing_key_path is not None
    async with running(settings):
        pass
    mode = stat.S_IMODE(settings.signing_key_path.stat().st_mode)
    assert mode == 0o600
    key_id = read_signing_key(settings.signing_key_path).key_id
    async with running(settings):
        pass
    assert read_signing_key(settings.signing_key_path).key_id == key_id
    assert [a.key_id for _, a in announcements(store_db)] == [key_id]  # announced once
    assert len(checkpoints(store_db)) == 1  # the second run had nothing new to sign


async def test_restarts_resume_without_gap_or_overlap(store_db: Path) -> None:
    settings = settings_for(store_db)
    for round_ in range(3):
        async with running(settings) as runtime:
            await scan(runtime, 15)
            assert runtime.checkpointer is not None
            if round_ == 1:
                await runtime.checkpointer.checkpoint_now()
                await scan(runtime, 5)
        # stop signed a final checkpoint covering everything before it
    signed = checkpoints(store_db)
    assert len(signed) == 4
    assert signed[0][1].first_seq == 1
    for (_, before), (_, after) in itertools.pairwise(signed):
        assert after.first_seq == before.last_seq + 1
    last_seq, last = signed[-1]
    assert last.last_seq == last_seq - 1  # only the final checkpoint itself is unsigned
    for seq, checkpoint in signed:
        assert_vouched(store_db, seq, checkpoint)


async def test_a_rotated_key_is_announced_before_it_signs(store_db: Path) -> None:
    settings = settings_for(store_db)
    assert settings.signing_key_path is not None
    async with running(settings) as runtime:
        await scan(runtime, 5)
    old_key = read_signing_key(settings.signing_key_path)
    rotation = rotate_signing_key(settings.signing_key_path, now=datetime(2026, 11, 26, tzinfo=UTC))
    assert rotation.old is not None
    assert rotation.old.key_id == old_key.key_id
    assert rotation.old_kept_at is not None
    assert rotation.old_kept_at.name.startswith(f"{STORE}-checkpoint.key.old-20261126T000000Z")
    assert read_signing_key(rotation.old_kept_at).key_id == old_key.key_id
    assert stat.S_IMODE(settings.signing_key_path.stat().st_mode) == 0o600
    async with running(settings) as runtime:
        await scan(runtime, 5)
    announced = announcements(store_db)
    assert [a.key_id for _, a in announced] == [old_key.key_id, rotation.new.key_id]
    new_announced_at = announced[1][0]
    signed = checkpoints(store_db)
    assert [c.key_id for _, c in signed] == [old_key.key_id, rotation.new.key_id]
    assert signed[1][0] > new_announced_at
    assert signed[1][1].first_seq == signed[0][1].last_seq + 1
    for seq, checkpoint in signed:
        assert_vouched(store_db, seq, checkpoint)


async def test_an_idle_store_stops_signing(store_db: Path, eventually) -> None:  # type: ignore[no-untyped-def]
    async with running(settings_for(store_db, checkpoint_interval_s=0.02)) as runtime:
        checkpointer = runtime.checkpointer
        assert checkpointer is not None
        await scan(runtime, 3)

        async def signed_once() -> bool:
            return checkpointer.status.checkpoints == 1

        await eventually(signed_once, what="the first timed checkpoint")
        rounds = checkpointer.status.rounds

        async def many_more_rounds() -> bool:
            return checkpointer.status.rounds >= rounds + 20

        await eventually(many_more_rounds, what="20 idle rounds")
        assert checkpointer.status.checkpoints == 1
        head = stored(store_db)[-1]
        assert head[1] == CHECKPOINT_TYPE  # nothing after it: idle rounds wrote nothing
        await scan(runtime, 1)  # something new: signed again (the checkpoint event with it)

        async def signed_twice() -> bool:
            return checkpointer.status.checkpoints == 2

        await eventually(signed_twice, what="a checkpoint after new activity")
    signed = checkpoints(store_db)
    assert signed[1][1].first_seq == signed[0][1].last_seq + 1


async def test_enough_unsigned_events_are_signed_at_once(store_db: Path, eventually) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(store_db, checkpoint_interval_s=3600.0, checkpoint_max_events=20)
    async with running(settings) as runtime:
        checkpointer = runtime.checkpointer
        assert checkpointer is not None
        for _ in range(5):
            await scan(runtime, 10)

        async def caught_up() -> bool:
            return checkpointer.status.signed_through >= 50

        await eventually(caught_up, what="checkpoints triggered by the event count")
        signed = checkpoints(store_db)
        assert signed
        assert all(c.last_seq - c.first_seq + 1 <= 20 for _, c in signed)
        for seq, checkpoint in signed:
            assert_vouched(store_db, seq, checkpoint)


async def test_a_tampered_event_no_longer_matches_the_signed_root(store_db: Path) -> None:
    async with running(settings_for(store_db)) as runtime:
        await scan(runtime, 10)
        assert runtime.checkpointer is not None
        ((_, checkpoint),) = await runtime.checkpointer.checkpoint_now()
    victim = 5
    with sqlite3.connect(store_db) as conn:
        (raw,) = conn.execute("SELECT envelope FROM events WHERE seq = ?", (victim,)).fetchone()
        forged = msgspec.structs.replace(decode_envelope(raw), operator_id="someone-else")
        conn.execute(
            "UPDATE events SET envelope = ? WHERE seq = ?", (encode_envelope(forged), victim)
        )
    rows = [r for r in stored(store_db) if r[0] <= checkpoint.last_seq]
    recomputed = [recompute_hash(decode_envelope(e)) for _, _, _, e in rows]
    assert merkle_root(recomputed) != checkpoint.merkle_root
    chain_break = verify_chain(decode_envelope(e) for _, _, _, e in rows)
    assert chain_break is not None
    assert chain_break.seq == victim
    # Rewriting the stored hash too does not help: the signed root covers the old one.
    with sqlite3.connect(store_db) as conn:
        conn.execute("UPDATE events SET hash = ? WHERE seq = ?", (recompute_hash(forged), victim))
    assert merkle_root(hashes(store_db, 1, checkpoint.last_seq)) != checkpoint.merkle_root


async def test_pruned_unsigned_events_are_skipped_and_said_so(store_db: Path) -> None:
    async with running(settings_for(store_db, signing_key_path=None)) as runtime:
        assert runtime.checkpointer is None  # no key configured: no checkpoints
        await scan(runtime, 30)
    with sqlite3.connect(store_db) as conn:  # what the relay does below the cloud's mark
        conn.execute("DELETE FROM events WHERE seq <= 20")
    with structlog.testing.capture_logs() as logs:
        async with running(settings_for(store_db)) as runtime:
            assert runtime.checkpointer is not None
            ((seq, checkpoint),) = await runtime.checkpointer.checkpoint_now()
            assert runtime.checkpointer.status.events_gone == 20
    assert (checkpoint.first_seq, checkpoint.last_seq) == (21, seq - 1)
    assert_vouched(store_db, seq, checkpoint)
    gone = [entry for entry in logs if entry["event"] == "evidence.unsigned_events_gone"]
    assert [(g["first_seq"], g["last_seq"]) for g in gone] == [(1, 20)]


@given(
    after=st.integers(0, 5),
    present=st.lists(st.booleans(), max_size=40),
    window=st.integers(1, 12),
)
def test_planning_covers_every_stored_event_once_in_order(
    after: int, present: list[bool], window: int
) -> None:
    """Planned again and again, checkpoints cover each stored event after `after` once, in
    contiguous runs, and what is missing is reported gone."""
    links = [
        ChainLink(seq=after + 1 + i, event_type="ScanRecorded", hash=bytes([i]) * 32)
        for i, here in enumerate(present)
        if here
    ]
    covered: list[int] = []
    gone: list[int] = []
    accounted = after
    for _ in range(len(present) + 2):
        readable = [link for link in links if link.seq > accounted][:window]
        plan = plan_checkpoint(accounted, readable, window_full=len(readable) >= window)
        if plan.gone is not None:
            gone.extend(range(plan.gone.first_seq, plan.gone.last_seq + 1))
        if plan.draft is not None:
            run = [link for link in readable if link.seq <= plan.draft.last_seq]
            assert [link.seq for link in run] == list(
                range(plan.draft.first_seq, plan.draft.last_seq + 1)
            )
            assert plan.draft.merkle_root == merkle_root([link.hash for link in run])
            covered.extend(link.seq for link in run)
        accounted = plan.accounted_through(accounted)
        if not plan.more:
            break
    assert covered == [link.seq for link in links]
    last_present = links[-1].seq if links else after
    assert sorted(covered + gone) == list(range(after + 1, last_present + 1))


def test_only_checkpoints_since_the_last_one_is_nothing_to_sign() -> None:
    links = [ChainLink(seq=8, event_type=CHECKPOINT_TYPE, hash=b"\x01" * 32)]
    assert plan_checkpoint(7, links).draft is None
    assert plan_checkpoint(7, []).draft is None


def test_jxc_edge_checkpoint_and_keygen(
    tmp_path: Path, jxc: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    db = tmp_path / "store.db"
    asyncio.run(_seed(db))
    key = tmp_path / "keys" / "s1.key"
    env = {"JXC_STORE_ID": STORE, "JXC_HOME": str(tmp_path / "home"), "JXC_EDGE_DB": str(db)}
    first = jxc("edge", "checkpoint", "--key", str(key), env=env)
    assert first.returncode == 0, first.stderr
    assert "evidence.signing_key_created" in first.stderr
    (line,) = [json.loads(text) for text in first.stdout.splitlines()]
    assert (line["first_seq"], line["last_seq"]) == (1, line["seq"] - 1)
    assert line["key_id"] == read_signing_key(key).key_id
    ((seq, checkpoint),) = checkpoints(db)
    assert (seq, checkpoint.merkle_root.hex()) == (line["seq"], line["merkle_root"])
    assert_vouched(db, seq, checkpoint)
    again = jxc("edge", "checkpoint", "--key", str(key), env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    assert f"nothing new to sign: the chain is signed through seq {seq - 1}" in again.stderr

    rotated = jxc("edge", "keygen", "--key", str(key), env=env)
    assert rotated.returncode == 0, rotated.stderr
    new_key_id = rotated.stdout.strip()
    assert new_key_id == read_signing_key(key).key_id != line["key_id"]
    assert len(list(key.parent.glob("s1.key.old-*"))) == 1
    after_rotation = jxc("edge", "checkpoint", "--db", str(db), "--key", str(key), env=env)
    assert after_rotation.returncode == 0, after_rotation.stderr
    (line,) = [json.loads(text) for text in after_rotation.stdout.splitlines()]
    assert line["key_id"] == new_key_id
    assert [a.key_id for _, a in announcements(db)][-1] == new_key_id
    for seq, checkpoint in checkpoints(db):
        assert_vouched(db, seq, checkpoint)

    helped = CliRunner().invoke(edge_cli, ["keygen", "--help"])
    assert "CheckpointKeyAnnounced" in helped.stdout
    assert ".old-" in helped.stdout
    missing = CliRunner().invoke(edge_cli, ["checkpoint", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 2
    assert "no store database" in missing.output


def test_a_bad_key_file_is_a_typed_error(tmp_path: Path) -> None:
    key = tmp_path / "bad.key"
    key.write_bytes(b"not a key")
    with pytest.raises(SigningKeyError, match="neither PEM nor"):
        read_signing_key(key)
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(SigningKeyError, match="PEM"):
        read_signing_key(key)
    key.write_bytes(bytes(range(32)))  # raw 32 bytes is a valid key
    assert len(read_signing_key(key).key_id) == 16


async def _seed(db: Path) -> None:
    await (await open_database(db)).close()
    await record_item_master(
        db, store_id=STORE, items=(BASS,), clock=utc_now, new_event_id=random_event_id
    )
