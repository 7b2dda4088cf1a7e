"""Render NATS configs for a deployment: the cloud hub, and a leaf node per store.

    python -m ops.deploy.nats.render hub --stores store-001,store-002 --out /etc/nats/jxc
    python -m ops.deploy.nats.render leaf --store store-001 --hub nats-leaf://hub.example:7422 \\
        --credentials /etc/nats/jxc/credentials/store-001.env --out /etc/nats/jxc-store

Every store gets its own user whose permissions allow exactly its own subjects: publish its
events (`jxc.v1.events.*.<store>`) and status, receive its commands (`jxc.v1.cmd.<store>.>`),
and pull its own voucher consumer. A store can neither read nor forge another store's data.
Passwords are generated here (secrets.token_urlsafe) and written only to the rendered files
(mode 0600); nothing secret is committed.

Which store option to use (README "Store deployment"):
- direct (default): the edge connects to the hub with its store user. The edge's SQLite
  outbox is the store-and-forward buffer: offline for days, it catches up in order.
- leaf node: a nats-server in the store with its own JetStream domain captures the store's
  events locally (`JXC_STORE_EVENTS`), and the hub's `JXC_EVENTS` sources them over the leaf
  connection. Use it when local consumers (the bridge, other store apps) must keep talking
  over NATS while the WAN is down, or when many store processes publish.
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

from protocol.subjects import is_valid_store_id

HUB_TEMPLATE = """# jxc cloud hub, rendered by ops.deploy.nats.render (holds passwords)
server_name: {server_name}
listen: {listen}
http: {monitor}
max_payload: 8MB

jetstream {{
  store_dir: "{data_dir}"
  max_file_store: 200GB
  domain: hub
}}

authorization {{
  users = [
{users}
  ]
}}

leafnodes {{
  listen: {leaf_listen}
  authorization {{
    users = [
{leaf_users}
    ]
  }}
}}
"""

LEAF_TEMPLATE = """# jxc store leaf node for {store}, rendered by ops.deploy.nats.render
server_name: jxc_store_{store_token}
listen: 127.0.0.1:4222
http: 127.0.0.1:8222

jetstream {{
  store_dir: "{data_dir}"
  max_file_store: 20GB
  # Its own domain: the store's events stay in the store until the hub sources them.
  domain: store_{store_token}
}}

leafnodes {{
  remotes = [
    {{
      url: "{hub_url}"
      # What may cross the leaf connection: this store's own subjects and JetStream traffic.
      deny_exports: ["jxc.v1.events.*.*"]  # events reach the hub by JetStream sourcing
      deny_imports: ["jxc.v1.events.>", "jxc.v1.status.>"]
    }}
  ]
}}
"""


def store_permissions(store_id: str) -> str:
    """The NATS permissions block of a store's user (also used for its leaf connection)."""
    return (
        "{ publish: { allow: ["
        f'"jxc.v1.events.*.{store_id}", "jxc.v1.status.{store_id}", '
        f'"jxc.v1.cmd.{store_id}.redemptions", '
        f'"$JS.API.CONSUMER.*.JXC_VOUCHERS.jxc-edge-{store_id}-vouchers", '
        f'"$JS.API.CONSUMER.MSG.NEXT.JXC_VOUCHERS.jxc-edge-{store_id}-vouchers", '
        '"$JS.API.STREAM.NAMES", "$JS.ACK.JXC_VOUCHERS.>", "_INBOX.>"'
        "] }, subscribe: { allow: ["
        f'"jxc.v1.cmd.{store_id}.>", "_INBOX.>"'
        "] } }"
    )


CLOUD_PERMISSIONS = '{ publish: { allow: [">"] }, subscribe: { allow: [">"] } }'


def _user(name: str, password: str, permissions: str, indent: str = "    ") -> str:
    return f'{indent}{{ user: "{name}", password: "{password}", permissions: {permissions} }}'


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def render_hub(
    stores: list[str],
    out: Path,
    *,
    data_dir: Path,
    listen: str = "0.0.0.0:4222",
    monitor: str = "127.0.0.1:8222",
    leaf_listen: str = "0.0.0.0:7422",
) -> Path:
    """hub.conf with one user per store (+ the cloud's own), and credentials/<user>.env."""
    for store in stores:
        if not is_valid_store_id(store):
            raise ValueError(f"not a store id: {store!r}")
    users, leaf_users = [], []
    cloud_password = secrets.token_urlsafe(24)
    users.append(_user("jxc-cloud", cloud_password, CLOUD_PERMISSIONS))
    _write_secret(out / "credentials" / "jxc-cloud.env", _env("jxc-cloud", cloud_password))
    for store in stores:
        password = secrets.token_urlsafe(24)
        users.append(_user(f"store-{store}", password, store_permissions(store)))
        leaf_users.append(f'      {{ user: "store-{store}", password: "{password}" }}')
        _write_secret(out / "credentials" / f"{store}.env", _env(f"store-{store}", password))
    config = out / "hub.conf"
    _write_secret(
        config,
        HUB_TEMPLATE.format(
            server_name="jxc_hub",
            listen=listen,
            monitor=monitor,
            data_dir=data_dir,
            users="\n".join(users),
            leaf_users="\n".join(leaf_users),
            leaf_listen=leaf_listen,
        ),
    )
    return config


def _env(user: str, password: str) -> str:
    return f"JXC_NATS_USER={user}\nJXC_NATS_PASSWORD={password}\n"


def render_leaf(store: str, hub_url: str, credentials: Path, out: Path, *, data_dir: Path) -> Path:
    """leaf.conf for one store, carrying its user's credentials for the hub connection."""
    if not is_valid_store_id(store):
        raise ValueError(f"not a store id: {store!r}")
    values = dict(
        line.split("=", 1) for line in credentials.read_text().splitlines() if "=" in line
    )
    user, password = values["JXC_NATS_USER"], values["JXC_NATS_PASSWORD"]
    scheme, _, rest = hub_url.partition("://")
    config = out / "leaf.conf"
    _write_secret(
        config,
        LEAF_TEMPLATE.format(
            store=store,
            store_token=store.replace("-", "_"),
            data_dir=data_dir,
            hub_url=f"{scheme}://{user}:{password}@{rest}",
        ),
    )
    return config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    hub = sub.add_parser("hub", help="the cloud hub config and per-store credentials")
    hub.add_argument("--stores", required=True, help="comma-separated store ids")
    hub.add_argument("--out", required=True, type=Path)
    hub.add_argument("--data-dir", type=Path, default=Path("/var/lib/nats/jxc"))
    leaf = sub.add_parser("leaf", help="a store's leaf node config")
    leaf.add_argument("--store", required=True)
    leaf.add_argument("--hub", required=True, help="e.g. nats-leaf://hub.example:7422")
    leaf.add_argument("--credentials", required=True, type=Path)
    leaf.add_argument("--out", required=True, type=Path)
    leaf.add_argument("--data-dir", type=Path, default=Path("/var/lib/nats/jxc-store"))
    args = parser.parse_args(argv)
    if args.what == "hub":
        stores = [s.strip() for s in args.stores.split(",") if s.strip()]
        print(render_hub(stores, args.out, data_dir=args.data_dir))
    else:
        print(render_leaf(args.store, args.hub, args.credentials, args.out, data_dir=args.data_dir))


if __name__ == "__main__":
    main()
