"""`jxc redeem keygen` and `sign`: keys out of the repo, codes that verify with the key ring."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from click.testing import CliRunner

from ops.cli import main
from protocol.redeem_events import TrustedKey
from protocol.signed_codes import KeyRing, VerifiedCode, verify_signed_code


def test_keygen_then_sign_gives_codes_the_key_ring_verifies(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"JXC_HOME": str(tmp_path)}
    result = runner.invoke(main, ["redeem", "keygen", "--key-id", "k1"], env=env)
    assert result.exit_code == 0, result.output
    key_file = tmp_path / "redeem" / "keys" / "k1.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = runner.invoke(main, ["redeem", "keygen", "--key-id", "k1"], env=env)
    assert again.exit_code != 0  # never overwrite a key: rotate to a new id
    signed = runner.invoke(
        main,
        ["redeem", "sign", "--key-id", "k1", "--code", "DY-1", "--code", "DY-2",
         "--store", "s1", "--line", "06901234567892:2", "--value-fen", "6600"],
        env=env,
    )  # fmt: skip
    assert signed.exit_code == 0, signed.output
    codes = signed.output.split()
    ring = KeyRing(
        msgspec.json.decode(
            (tmp_path / "redeem" / "keyring.json").read_bytes(), type=list[TrustedKey]
        )
    )
    verified = [verify_signed_code(c, ring, now=datetime.now(UTC)) for c in codes]
    assert all(isinstance(v, VerifiedCode) for v in verified)
    assert [v.voucher.code for v in verified] == ["DY-1", "DY-2"]  # type: ignore[union-attr]
    bad = runner.invoke(main, ["redeem", "sign", "--key-id", "nope", "--code", "X"], env=env)
    assert bad.exit_code != 0
