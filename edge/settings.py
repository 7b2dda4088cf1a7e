"""Edge settings: one frozen object, read once from `JXC_*` environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

import msgspec

from edge.scan.layouts import DEFAULT_LAYOUTS, parse_layouts
from protocol.gs1 import VariableMeasureLayout
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
    relay_window: int = 8
    # The local log's disk budget (alarm above it; unsent events are never deleted) and how
    # long events the cloud already has are kept before pruning.
    log_budget_mb: int = 2048
    log_retention_days: float = 7.0
    # Group commit: the SQLite writer commits up to this many facts per transaction.
    writer_batch_max: int = 256
    # Scan-to-redeem: the public key ring for signed codes (JSON list; keys also arrive with
    # voucher batches), how long a redemption may be reversed, how often the cloud's list of
    # redemptions made in other stores is pulled while online.
    redeem_keyring_path: Path | None = None
    redeem_reversal_window_s: float = 1800.0
    redeem_sync_interval_s: float = 5.0
    # Cold chain: the store's Mosquitto (bridge readings) and when a silent probe is stale/offline.
    mqtt_url: str = "mqtt://127.0.0.1:11883"
    coldchain_intake_enabled: bool = True
    probe_stale_after_s: float = 120.0
    probe_offline_after_s: float = 600.0
    # The store's variable-measure EAN-13 label layouts (JXC_VM_LAYOUTS, see edge/scan/layouts.py).
    variable_measure_layouts: tuple[VariableMeasureLayout, ...] = DEFAULT_LAYOUTS
    # Evidence: the store's Ed25519 key for signed chain checkpoints (edge/evidence/; None: no
    # checkpoints; from the environment it defaults to <JXC_HOME>/edge/<store>-checkpoint.key),
    # how often the chain is signed, and after how many unsigned events at the latest. Small
    # windows keep each checkpoint's work short: signing 10,000 events at once put a burst on
    # the event loop that raised redemptions' p99 at 1,500/s from ~14 ms to ~55 ms (measured
    # with `jxc bench redeem`); 1,000 costs one checkpoint event per 1,000 events.
    signing_key_path: Path | None = None
    checkpoint_interval_s: float = 60.0
    checkpoint_max_events: int = 1_000

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
                redeem_keyring_path=Path(
                    env.get(
                        "JXC_REDEEM_KEYRING",
                        str(Path(env.get("JXC_HOME", ".jxc")) / "redeem" / "keyring.json"),
                    )
                ),
                redeem_reversal_window_s=float(
                    env.get("JXC_REDEEM_REVERSAL_WINDOW_S", defaults.redeem_reversal_window_s)
                ),
                redeem_sync_interval_s=float(
                    env.get("JXC_REDEEM_SYNC_INTERVAL_S", defaults.redeem_sync_interval_s)
                ),
                mqtt_url=env.get("JXC_MQTT_URL", defaults.mqtt_url),
                coldchain_intake_enabled=env.get("JXC_COLDCHAIN_INTAKE", "1")
                not in ("0", "false", "no"),
                probe_stale_after_s=float(
                    env.get("JXC_PROBE_STALE_AFTER_S", defaults.probe_stale_after_s)
                ),
                probe_offline_after_s=float(
                    env.get("JXC_PROBE_OFFLINE_AFTER_S", defaults.probe_offline_after_s)
                ),
                variable_measure_layouts=parse_layouts(env.get("JXC_VM_LAYOUTS")),
                relay_window=int(env.get("JXC_RELAY_WINDOW", defaults.relay_window)),
                log_budget_mb=int(env.get("JXC_LOG_BUDGET_MB", defaults.log_budget_mb)),
                log_retention_days=float(
                    env.get("JXC_LOG_RETENTION_DAYS", defaults.log_retention_days)
                ),
                signing_key_path=Path(
                    env.get(
                        "JXC_EDGE_SIGNING_KEY",
                        str(
                            Path(env.get("JXC_HOME", ".jxc"))
                            / "edge"
                            / f"{store_id}-checkpoint.key"
                        ),
                    )
                ),
                checkpoint_interval_s=_positive(
                    "JXC_CHECKPOINT_INTERVAL_S",
                    float(env.get("JXC_CHECKPOINT_INTERVAL_S", defaults.checkpoint_interval_s)),
                ),
                checkpoint_max_events=_positive(
                    "JXC_CHECKPOINT_MAX_EVENTS",
                    int(env.get("JXC_CHECKPOINT_MAX_EVENTS", defaults.checkpoint_max_events)),
                ),
            )
        except ValueError as exc:
            raise SettingsError(f"invalid edge setting: {exc}") from exc


_Number = TypeVar("_Number", int, float)


def _positive(name: str, value: _Number) -> _Number:
    if value <= 0:
        raise ValueError(f"{name} must be above 0, got {value}")
    return value
