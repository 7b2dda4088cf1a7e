"""Edge settings: one frozen object, read once from `JXC_*` environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import msgspec

from protocol.subjects import is_valid_store_id


class SettingsError(ValueError):
    """A setting that cannot be used; raised at start-up, never later."""


class EdgeSettings(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str = "store-001"
    db_path: Path = Path(".jxc/edge/store-001.db")
    nats_url: str = "nats://127.0.0.1:14222"
    host: str = "127.0.0.1"
    port: int = 8100
    device_id: str = "edge"
    # Relay: how many events one NATS message carries at most.
    relay_enabled: bool = True
    relay_batch_max: int = 1000
    # Group commit: the SQLite writer commits up to this many facts per transaction.
    writer_batch_max: int = 256

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EdgeSettings:
        defaults = cls()
        store_id = env.get("JXC_STORE_ID", defaults.store_id)
        if not is_valid_store_id(store_id):
            raise SettingsError(
                f"JXC_STORE_ID={store_id!r}: use 1-64 letters, digits, '-' or '_' "
                "(it becomes a NATS subject token)"
            )
        default_db = Path(env.get("JXC_HOME", ".jxc")) / "edge" / f"{store_id}.db"
        try:
            return cls(
                store_id=store_id,
                db_path=Path(env.get("JXC_EDGE_DB", str(default_db))),
                nats_url=env.get("JXC_NATS_URL", defaults.nats_url),
                host=env.get("JXC_EDGE_HOST", defaults.host),
                port=int(env.get("JXC_EDGE_PORT", defaults.port)),
                device_id=env.get("JXC_EDGE_DEVICE_ID", defaults.device_id),
                relay_enabled=env.get("JXC_RELAY_ENABLED", "1") not in ("0", "false", "no"),
                relay_batch_max=int(env.get("JXC_RELAY_BATCH_MAX", defaults.relay_batch_max)),
            )
        except ValueError as exc:
            raise SettingsError(f"invalid edge setting: {exc}") from exc
