"""Rendered NATS deployment configs: valid for nats-server, and a store's user can publish
only its own events and read only its own commands (real server on loopback)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import nats
import nats.errors
import pytest

from ops import services as local
from ops.deploy.nats.render import render_hub, render_leaf
from protocol.subjects import command_subject, events_subject


def credentials(path: Path) -> tuple[str, str]:
    values = dict(line.split("=", 1) for line in path.read_text().splitlines())
    return values["JXC_NATS_USER"], values["JXC_NATS_PASSWORD"]


def test_rendered_configs_are_valid_and_private(tmp_path: Path) -> None:
    hub = render_hub(["store-001", "store-002"], tmp_path / "hub", data_dir=tmp_path / "hd")
    leaf = render_leaf(
        "store-001",
        "nats-leaf://127.0.0.1:7422",
        tmp_path / "hub" / "credentials" / "store-001.env",
        tmp_path / "leaf",
        data_dir=tmp_path / "ld",
    )
    for config in (hub, leaf):
        checked = subprocess.run(
            [local.find_binary("nats-server"), "-t", "-c", str(config)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr
        assert config.stat().st_mode & 0o077 == 0  # passwords inside: owner only
    with pytest.raises(ValueError, match="store id"):
        render_hub(["bad.store"], tmp_path / "x", data_dir=tmp_path)


async def test_a_store_user_is_confined_to_its_own_subjects(tmp_path: Path) -> None:
    port, monitor, leaf_port = local.free_port(), local.free_port(), local.free_port()
    hub = render_hub(
        ["store-001", "store-002"],
        tmp_path / "hub",
        data_dir=tmp_path / "hd",
        listen=f"127.0.0.1:{port}",
        monitor=f"127.0.0.1:{monitor}",
        leaf_listen=f"127.0.0.1:{leaf_port}",
    )
    server = local.run_nats_config(hub, port=port, monitor_port=monitor)
    try:
        user, password = credentials(tmp_path / "hub" / "credentials" / "store-001.env")
        errors: list[Exception] = []

        async def on_error(exc: Exception) -> None:
            errors.append(exc)

        store = await nats.connect(server.url, user=user, password=password, error_cb=on_error)
        cloud_user, cloud_password = credentials(tmp_path / "hub" / "credentials" / "jxc-cloud.env")
        cloud = await nats.connect(server.url, user=cloud_user, password=cloud_password)
        seen: list[str] = []

        async def record(msg: nats.aio.msg.Msg) -> None:
            seen.append(msg.subject)

        await cloud.subscribe("jxc.v1.events.>", cb=record)
        commands: list[str] = []

        async def command(msg: nats.aio.msg.Msg) -> None:
            commands.append(msg.subject)

        await store.subscribe(command_subject("store-001", "hwm"), cb=command)
        await store.subscribe(command_subject("store-002", "hwm"), cb=command)  # refused
        await store.flush()
        await cloud.flush()
        await store.publish(events_subject("store-001"), b"own")
        await store.publish(events_subject("store-002"), b"forged")  # refused
        await cloud.publish(command_subject("store-001", "hwm"), b"mine")
        await cloud.publish(command_subject("store-002", "hwm"), b"not mine")
        await cloud.flush()
        await store.flush()
        for _ in range(50):
            if seen and commands and len(errors) >= 2:
                break
            await asyncio.sleep(0.05)
        assert seen == [events_subject("store-001")]
        assert commands == [command_subject("store-001", "hwm")]
        assert sum("permissions violation" in str(e).lower() for e in errors) >= 2
        await store.close()
        await cloud.close()
    finally:
        server.kill()
