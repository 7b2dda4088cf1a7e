"""`jxc redeem …`: signing keys, signed voucher codes and voucher batches for the stores."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def _home() -> Path:
    return Path(os.environ.get("JXC_HOME", ".jxc")) / "redeem"


KEY_DIR_OPTION = click.option(
    "--key-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where private keys live (default $JXC_HOME/redeem/keys; never inside the repo).",
)
KEYRING_OPTION = click.option(
    "--keyring",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Public key ring the stores trust (default $JXC_HOME/redeem/keyring.json).",
)


@click.group()
def redeem() -> None:
    """Scan-to-redeem: signing keys, signed codes, voucher batches.

    \b
    jxc redeem keygen --key-id k2025a           new Ed25519 key; public half joins the key ring
    jxc redeem sign --key-id k2025a --code C1   a signed compact code (QR text) for one voucher
    jxc redeem publish batch.json --store s1    send a voucher batch to a store over NATS

    Private keys are written with mode 0600 under $JXC_HOME (ignored by git); stores only
    ever get public keys (key ring file JXC_REDEEM_KEYRING, or `keys` in a batch).
    """


@redeem.command()
@click.option("--key-id", required=True, help="Key id printed into every code it signs.")
@click.option("--valid-days", type=int, default=365, show_default=True)
@KEY_DIR_OPTION
@KEYRING_OPTION
def keygen(key_id: str, valid_days: int, key_dir: Path | None, keyring: Path | None) -> None:
    """Create an Ed25519 signing key KEY_ID; add its public key to the key ring."""
    import msgspec
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from protocol.redeem_events import TrustedKey
    from protocol.signed_codes import public_key_bytes

    if not key_id or not key_id.replace("-", "").replace("_", "").isalnum() or len(key_id) > 32:
        raise click.BadParameter("1-32 letters, digits, '-' or '_'", param_hint="--key-id")
    key_dir = key_dir or _home() / "keys"
    keyring = keyring or _home() / "keyring.json"
    key_path = key_dir / f"{key_id}.pem"
    if key_path.exists():
        raise click.ClickException(f"{key_path} exists: pick a new key id to rotate")
    key = Ed25519PrivateKey.generate()
    key_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    now = datetime.now(UTC)
    trusted = TrustedKey(
        key_id=key_id,
        public_key=public_key_bytes(key),
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=valid_days),
    )
    ring = (
        msgspec.json.decode(keyring.read_bytes(), type=list[TrustedKey]) if keyring.exists() else []
    )
    ring = [k for k in ring if k.key_id != key_id] + [trusted]
    keyring.parent.mkdir(parents=True, exist_ok=True)
    keyring.write_bytes(msgspec.json.format(msgspec.json.encode(ring)))
    click.echo(f"private key: {key_path} (keep it secret; never commit it)")
    click.echo(
        f"key ring:    {keyring} ({len(ring)} keys; give it to stores as JXC_REDEEM_KEYRING)"
    )


def _private_key(key_dir: Path | None, key_id: str) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    path = (key_dir or _home() / "keys") / f"{key_id}.pem"
    if not path.exists():
        raise click.ClickException(f"no private key {path}: run `jxc redeem keygen` first")
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise click.ClickException(f"{path} is not an Ed25519 key")
    return key


@redeem.command()
@click.option("--key-id", required=True)
@click.option("--code", "codes", multiple=True, help="Voucher code (repeat for several).")
@click.option(
    "--kind",
    type=click.Choice(["group_buy", "coupon", "prepaid_order", "pickup"]),
    default="group_buy",
    show_default=True,
)
@click.option("--store", "stores", multiple=True, help="Store where valid (repeat; none = any).")
@click.option("--valid-days", type=int, default=30, show_default=True)
@click.option("--line", "lines", multiple=True, help="GTIN:QUANTITY to hand over (repeat).")
@click.option("--value-fen", type=int, default=0, help="What the issuer settles, in fen.")
@click.option("--amount-off-fen", type=int, default=0, help="Coupon: amount off, in fen.")
@click.option("--percent-off", type=int, default=0, help="Coupon: percent off (1-100).")
@click.option("--min-spend-fen", type=int, default=0, help="Coupon: minimum spend, in fen.")
@click.option("--order-id", default="", help="Prepaid order / pickup: the order id.")
@click.option("--issuer", default="brand", show_default=True)
@KEY_DIR_OPTION
def sign(
    key_id: str,
    codes: tuple[str, ...],
    kind: str,
    stores: tuple[str, ...],
    valid_days: int,
    lines: tuple[str, ...],
    value_fen: int,
    amount_off_fen: int,
    percent_off: int,
    min_spend_fen: int,
    order_id: str,
    issuer: str,
    key_dir: Path | None,
) -> None:
    """Print one signed compact code per --code (text for a QR code), verifiable offline."""
    import msgspec

    from protocol.redeem_events import CouponTerms, RedeemLine, Voucher
    from protocol.signed_codes import sign_voucher

    if not codes:
        raise click.UsageError("give at least one --code")
    parsed_lines = []
    for line in lines:
        gtin, _, quantity = line.partition(":")
        if not gtin or not (quantity or "1").isdigit():
            raise click.BadParameter(f"{line!r}: use GTIN:QUANTITY", param_hint="--line")
        parsed_lines.append(RedeemLine(gtin=gtin, quantity=int(quantity or "1")))
    terms = None
    if kind == "coupon":
        terms = CouponTerms(
            amount_off_fen=amount_off_fen, percent_off=percent_off, min_spend_fen=min_spend_fen
        )
    key = _private_key(key_dir, key_id)
    now = datetime.now(UTC)
    for code in codes:
        try:
            voucher = msgspec.convert(
                {
                    "code": code,
                    "kind": kind,
                    "valid_from": now - timedelta(minutes=5),
                    "valid_until": now + timedelta(days=valid_days),
                    "stores": stores,
                    "lines": parsed_lines,
                    "value_fen": value_fen,
                    "terms": terms,
                    "order_id": order_id,
                    "issuer": issuer,
                },
                Voucher,
                from_attributes=True,
            )
        except msgspec.ValidationError as exc:
            raise click.BadParameter(str(exc)) from exc
        click.echo(sign_voucher(voucher, key_id=key_id, private_key=key))


@redeem.command()
@click.argument("batch_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--store", "store_id", required=True, help="Store to send the batch to.")
@click.option("--nats-url", default=None, help="NATS (default JXC_NATS_URL or local).")
@click.option("--chunk", type=int, default=2000, show_default=True, help="Vouchers per message.")
def publish(batch_file: Path, store_id: str, nats_url: str | None, chunk: int) -> None:
    """Send BATCH_FILE to a store over NATS JetStream (kept until the store takes it).

    BATCH_FILE is JSON: {"batch_id": "...", "version": 1, "vouchers": [Voucher, ...],
    "revoked_codes": [...], "keys": [TrustedKey, ...]}. Large batches go as parts
    (batch_id#part), each idempotent by (batch_id, version): re-publishing is harmless.
    """
    import msgspec

    from protocol.redeem_events import MAX_BATCH_VOUCHERS, TrustedKey, Voucher, VoucherBatch
    from protocol.subjects import is_valid_store_id

    if not is_valid_store_id(store_id):
        raise click.BadParameter("not a store id", param_hint="--store")

    class BatchFile(msgspec.Struct, frozen=True, kw_only=True):
        batch_id: str
        version: int
        vouchers: tuple[Voucher, ...] = ()
        revoked_codes: tuple[str, ...] = ()
        keys: tuple[TrustedKey, ...] = ()

    try:
        spec = msgspec.json.decode(batch_file.read_bytes(), type=BatchFile)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise click.BadParameter(str(exc), param_hint="BATCH_FILE") from exc
    size = max(1, min(chunk, MAX_BATCH_VOUCHERS))
    parts = [spec.vouchers[i : i + size] for i in range(0, len(spec.vouchers), size)] or [()]
    now = datetime.now(UTC)
    batches = [
        VoucherBatch(
            batch_id=spec.batch_id if len(parts) == 1 else f"{spec.batch_id}#{n}",
            version=spec.version,
            store_id=store_id,
            vouchers=part,
            revoked_codes=spec.revoked_codes if n == 0 else (),
            keys=spec.keys if n == 0 else (),
            issued_at=now,
        )
        for n, part in enumerate(parts)
    ]
    url = nats_url or os.environ.get("JXC_NATS_URL", "nats://127.0.0.1:14222")
    asyncio.run(_publish(url, batches))
    click.echo(
        json.dumps({"store": store_id, "messages": len(batches), "vouchers": len(spec.vouchers)})
    )


async def _publish(url: str, batches: Sequence[object]) -> None:
    import msgspec
    import nats
    import nats.errors

    from edge.redeem.downlink import batch_msg_id, ensure_vouchers_stream
    from protocol.redeem_events import VoucherBatch
    from protocol.subjects import command_subject

    try:
        nc = await nats.connect(url, connect_timeout=3, max_reconnect_attempts=1)
    except (TimeoutError, nats.errors.Error, OSError) as exc:
        click.echo(f"cannot reach NATS at {url}: {exc!r}", err=True)
        sys.exit(1)
    try:
        js = nc.jetstream()
        await ensure_vouchers_stream(js)
        with click.progressbar(batches, label="publishing", file=sys.stderr) as bar:
            for batch in bar:
                assert isinstance(batch, VoucherBatch)
                await js.publish(
                    command_subject(batch.store_id, "vouchers"),
                    msgspec.msgpack.encode(batch),
                    headers={
                        "Nats-Msg-Id": batch_msg_id(batch.store_id, batch.batch_id, batch.version)
                    },
                )
    finally:
        await nc.close()
