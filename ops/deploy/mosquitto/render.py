"""Render the store's Mosquitto config: config, ACL and a password file with generated passwords.

    python -m ops.deploy.mosquitto.render --store store-001 --out /etc/mosquitto/jxc

Passwords are generated here (secrets.token_urlsafe), hashed into the password file with
`mosquitto_passwd`, and written once, mode 0600, to `<out>/credentials.env` for the bridge
and edge services (JXC_MQTT_URL=mqtt://user:password@127.0.0.1:1883). Nothing secret is
committed: the templates beside this file hold none. Mosquitto started as root drops to
the `mosquitto` user: `chown mosquitto: <out>/passwords <out>/acl` after rendering.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
from importlib import resources
from pathlib import Path
from typing import Final

from protocol.subjects import is_valid_store_id

QUEUE_LIMITS: Final = """max_queued_messages 200000
max_queued_bytes 536870912
max_inflight_messages 100
queue_qos0_messages false"""
"""The broker's per-client queue limits (also used by `jxc bench intake` and the demo)."""

ROLES: Final = ("bridge", "edge", "probes")


def template(name: str) -> str:
    return resources.files("ops.deploy.mosquitto").joinpath(name).read_text(encoding="utf-8")


def render(
    store_id: str, out: Path, *, data_dir: Path, mosquitto_passwd: str = "mosquitto_passwd"
) -> dict[str, str]:
    """Write mosquitto.conf, acl, passwords and credentials.env under `out`; returns the
    generated credentials (user -> password)."""
    if not is_valid_store_id(store_id):
        raise ValueError(f"store id {store_id!r}: 1-64 letters, digits, '-' or '_'")
    out.mkdir(parents=True, exist_ok=True)
    conf = (
        template("store-broker.conf.template")
        .replace("{{CONFIG_DIR}}", str(out))
        .replace("{{DATA_DIR}}", str(data_dir))
        .replace("{{QUEUE_LIMITS}}", QUEUE_LIMITS)
    )
    (out / "mosquitto.conf").write_text(conf, encoding="utf-8")
    (out / "acl").write_text(
        template("acl.template").replace("{{STORE}}", store_id), encoding="utf-8"
    )
    credentials = {f"jxc-{role}-{store_id}": secrets.token_urlsafe(24) for role in ROLES}
    passwords = out / "passwords"
    passwords.write_text("", encoding="utf-8")
    passwords.chmod(0o600)
    for user, password in credentials.items():
        subprocess.run([mosquitto_passwd, "-b", str(passwords), user, password], check=True)
    env_file = out / "credentials.env"
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for user, password in credentials.items():
            role = user.split("-")[1].upper()
            handle.write(f"JXC_MQTT_URL_{role}=mqtt://{user}:{password}@127.0.0.1:1883\n")
    return credentials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--store", required=True, help="the store id (JXC_STORE_ID)")
    parser.add_argument("--out", type=Path, required=True, help="config folder to write")
    parser.add_argument("--data-dir", type=Path, default=Path("/var/lib/mosquitto"))
    args = parser.parse_args()
    credentials = render(args.store, args.out, data_dir=args.data_dir)
    print(f"wrote {args.out}/mosquitto.conf, acl, passwords ({len(credentials)} users)")
    print(f"credentials for the services: {args.out}/credentials.env (mode 0600)")


if __name__ == "__main__":
    main()
