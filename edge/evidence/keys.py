"""The store's checkpoint signing key: an Ed25519 private key in a file of its own.

The file holds either a PEM private key (PKCS#8, unencrypted: the edge starts unattended) or
the 32 raw bytes of the key. It is created with mode 0600 on first start and never lives in
the repository (its default place is under JXC_HOME). Rotation writes a new file and keeps the
old one beside it as `<name>.old-<UTC timestamp>`, so checkpoints signed with it can still be
traced to the key file that made them.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.errors import FatalError
from protocol.evidence import key_fingerprint

log = structlog.get_logger(__name__)

RAW_KEY_LEN = 32
_PEM_START = b"-----BEGIN"


class SigningKeyError(FatalError):
    """The key file cannot be used (unreadable, not an Ed25519 key, encrypted)."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    private_key: Ed25519PrivateKey
    public_key: bytes  # 32 raw bytes, as announced on the chain
    key_id: str  # protocol.evidence.key_fingerprint(public_key)
    path: Path


def signing_key(private_key: Ed25519PrivateKey, path: Path) -> SigningKey:
    public = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return SigningKey(
        private_key=private_key, public_key=public, key_id=key_fingerprint(public), path=path
    )


def parse_private_key(data: bytes) -> Ed25519PrivateKey:
    """A PEM or raw (32-byte) Ed25519 private key; SigningKeyError says why not."""
    if data.lstrip().startswith(_PEM_START):
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # TypeError: encrypted
            raise SigningKeyError(f"not a usable PEM private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"a {type(key).__name__}, not an Ed25519 key")
        return key
    if len(data) == RAW_KEY_LEN:
        return Ed25519PrivateKey.from_private_bytes(data)
    raise SigningKeyError(
        f"neither PEM nor a raw {RAW_KEY_LEN}-byte Ed25519 key ({len(data)} bytes)"
    )


def read_signing_key(path: Path) -> SigningKey:
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as exc:
        raise SigningKeyError(f"signing key {path}: {exc}") from exc
    try:
        key = signing_key(parse_private_key(data), path)
    except SigningKeyError as exc:
        raise SigningKeyError(f"signing key {path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "evidence.signing_key_exposed",
            path=str(path),
            mode=oct(stat.S_IMODE(mode)),
            hint="anyone who can read it can sign this store's checkpoints: chmod 600",
        )
    return key


def _write_new_key(path: Path) -> SigningKey:
    """Create `path` (it must not exist) with a fresh key, readable by its owner only."""
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    return signing_key(private_key, path)


def load_or_create_signing_key(path: Path) -> tuple[SigningKey, bool]:
    """The key in `path`, created there first if missing; (key, whether it was created)."""
    try:
        return _write_new_key(path), True
    except FileExistsError:
        return read_signing_key(path), False
    except OSError as exc:
        raise SigningKeyError(f"cannot create signing key {path}: {exc}") from exc


def retired_key_path(path: Path, now: datetime) -> Path:
    """Where a rotated-out key is kept: `<name>.old-<UTC timestamp>` (never overwritten)."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{path.name}.old-{stamp}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.old-{stamp}-{n}")
    return candidate


@dataclass(frozen=True, slots=True)
class Rotation:
    new: SigningKey
    old: SigningKey | None  # None: there was no key yet
    old_kept_at: Path | None


def rotate_signing_key(path: Path, *, now: datetime) -> Rotation:
    """Put a new key in `path`, keeping the current one as `<name>.old-<ts>`.

    The new key is written to a temporary file first and renamed into place, so `path` never
    holds a half-written key. An unreadable current key is kept aside too (not parsed)."""
    old: SigningKey | None = None
    if path.exists():
        with contextlib.suppress(SigningKeyError):
            old = read_signing_key(path)
    fresh = path.with_name(f"{path.name}.new")
    with contextlib.suppress(FileNotFoundError):
        fresh.unlink()  # left by a rotation that died half-way
    try:
        new = _write_new_key(fresh)
        kept: Path | None = None
        if path.exists():
            kept = retired_key_path(path, now)
            os.rename(path, kept)
        os.replace(fresh, path)
    except OSError as exc:
        raise SigningKeyError(f"cannot rotate signing key {path}: {exc}") from exc
    return Rotation(new=signing_key(new.private_key, path), old=old, old_kept_at=kept)
