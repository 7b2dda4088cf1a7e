"""Cloud settings: one frozen object, read once from `JXC_*` environment variables."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import msgspec

from protocol.subjects import EVENT_PARTITIONS

_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class SettingsError(ValueError):
    """A setting that cannot be used; raised at start-up, never later."""


class CloudSettings(msgspec.Struct, frozen=True, kw_only=True):
    # `chdb:///<dir>` is the embedded engine (one process per data dir);
    # `http(s)://user:pass@host:8123` a real ClickHouse server or cluster.
    clickhouse_url: str = "chdb:///.jxc/cloud/chdb"
    database: str = "jxc"
    nats_url: str = "nats://127.0.0.1:14222"
    host: str = "127.0.0.1"
    port: int = 8200
    ingest_enabled: bool = True
    ingest_durable: str = "jxc-ingest"
    ingest_fetch_batch: int = 256
    ingest_ack_wait_s: float = 30.0
    # Event partitions this process may ingest (it takes the ones no other worker holds).
    ingest_partitions: tuple[int, ...] = tuple(range(EVENT_PARTITIONS))
    # Processes that decode, verify and lay out large fetches side by side (0: in the ingest
    # process itself). They pay only with cores to spare: ClickHouse's insert and the ingest's
    # own loop keep two busy (on 2 cores a pool measured slower than none).
    ingest_prepare_workers: int = max(0, min(4, (os.cpu_count() or 1) - 2))
    # Fetches smaller than this are prepared in place (the hand-over would cost more).
    ingest_prepare_min_bytes: int = 256 * 1024
    # Bearer token for the cloud API; when unset, `jxc cloud serve` creates one under JXC_HOME.
    api_token: str | None = None
    home: Path = Path(".jxc")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CloudSettings:
        defaults = cls()
        home = Path(env.get("JXC_HOME", ".jxc"))
        database = env.get("JXC_CLICKHOUSE_DATABASE", defaults.database)
        if not _DATABASE_NAME.match(database):
            raise SettingsError(f"JXC_CLICKHOUSE_DATABASE={database!r} is not a plain identifier")
        url = env.get("JXC_CLICKHOUSE_URL", f"chdb:///{(home / 'cloud' / 'chdb').resolve()}")
        if not url.startswith(("chdb://", "http://", "https://")):
            raise SettingsError(
                f"JXC_CLICKHOUSE_URL={url!r}: use chdb:///<dir> or http(s)://host:port"
            )
        try:
            return cls(
                clickhouse_url=url,
                database=database,
                nats_url=env.get("JXC_NATS_URL", defaults.nats_url),
                host=env.get("JXC_CLOUD_HOST", defaults.host),
                port=int(env.get("JXC_CLOUD_PORT", defaults.port)),
                ingest_enabled=env.get("JXC_INGEST_ENABLED", "1") not in ("0", "false", "no"),
                ingest_durable=env.get("JXC_INGEST_DURABLE", defaults.ingest_durable),
                ingest_fetch_batch=int(
                    env.get("JXC_INGEST_FETCH_BATCH", defaults.ingest_fetch_batch)
                ),
                ingest_partitions=parse_partitions(
                    env.get("JXC_INGEST_PARTITIONS", f"0-{EVENT_PARTITIONS - 1}")
                ),
                ingest_ack_wait_s=float(
                    env.get("JXC_INGEST_ACK_WAIT_S", defaults.ingest_ack_wait_s)
                ),
                ingest_prepare_workers=_non_negative(
                    "JXC_INGEST_PREPARE_WORKERS",
                    env.get("JXC_INGEST_PREPARE_WORKERS", defaults.ingest_prepare_workers),
                ),
                ingest_prepare_min_bytes=_non_negative(
                    "JXC_INGEST_PREPARE_MIN_BYTES",
                    env.get("JXC_INGEST_PREPARE_MIN_BYTES", defaults.ingest_prepare_min_bytes),
                ),
                api_token=env.get("JXC_CLOUD_API_TOKEN") or None,
                home=home,
            )
        except ValueError as exc:
            raise SettingsError(f"invalid cloud setting: {exc}") from exc


def _non_negative(name: str, text: str | int) -> int:
    value = int(text)
    if value < 0:
        raise SettingsError(f"{name}={text!r} must be 0 or more")
    return value


def parse_partitions(text: str) -> tuple[int, ...]:
    """`0-7`, `0,2,4` or `3` → partition numbers; raises SettingsError when out of range."""
    chosen: set[int] = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise SettingsError(f"JXC_INGEST_PARTITIONS={text!r}: use e.g. 0-7 or 0,2,4") from None
        if not 0 <= first <= last < EVENT_PARTITIONS:
            raise SettingsError(
                f"JXC_INGEST_PARTITIONS={text!r}: partitions are 0..{EVENT_PARTITIONS - 1}"
            )
        chosen.update(range(first, last + 1))
    return tuple(sorted(chosen))
