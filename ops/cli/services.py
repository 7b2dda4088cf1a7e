"""`jxc services up|down|status`: local NATS JetStream and Mosquitto on loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from ops import services as local

HOME = click.option(
    "--home",
    envvar="JXC_HOME",
    default=".jxc",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for service data, configs, logs and pid files.",
)


def _state_path(home: Path) -> Path:
    return home / "services" / "state.json"


def _read_state(home: Path) -> dict[str, dict[str, object]]:
    path = _state_path(home)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _running(entry: dict[str, object]) -> bool:
    pid = entry.get("pid")
    return isinstance(pid, int) and local.pid_alive(pid)


async def _ensure_stream(nats_url: str) -> None:
    import nats

    from cloud.ingest.stream import ensure_events_stream

    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=1)
    try:
        await ensure_events_stream(nc.jetstream())
    finally:
        await nc.close()


@click.group()
def services() -> None:
    """Run local NATS JetStream and Mosquitto on 127.0.0.1.

    Data, configs and logs live under --home (default .jxc/services). System-wide services
    are never touched.
    """


@services.command()
@HOME
@click.option("--nats-port", default=local.DEFAULT_NATS_PORT, show_default=True, type=int)
@click.option("--nats-monitor-port", default=local.DEFAULT_NATS_MONITOR_PORT, show_default=True)
@click.option("--mqtt-port", default=local.DEFAULT_MQTT_PORT, show_default=True, type=int)
def up(home: Path, nats_port: int, nats_monitor_port: int, mqtt_port: int) -> None:
    """Start NATS (with JetStream, events stream created) and Mosquitto in the background."""
    state = _read_state(home)
    folder = home / "services"
    if not _running(state.get("nats", {})):
        server = local.start_nats(
            folder / "nats", port=nats_port, monitor_port=nats_monitor_port, detach=True
        )
        state["nats"] = {
            "pid": server.pid,
            "url": server.url,
            "log": str(server.log_path),
            "monitor": f"http://127.0.0.1:{nats_monitor_port}",
        }
    if not _running(state.get("mosquitto", {})):
        broker = local.start_mosquitto(folder / "mosquitto", port=mqtt_port, detach=True)
        state["mosquitto"] = {"pid": broker.pid, "url": broker.url, "log": str(broker.log_path)}
    _state_path(home).parent.mkdir(parents=True, exist_ok=True)
    _state_path(home).write_text(json.dumps(state, indent=2))
    asyncio.run(_ensure_stream(str(state["nats"]["url"])))
    for name, entry in state.items():
        click.echo(f"{name:10} running  pid {entry['pid']:<8} {entry['url']}  log {entry['log']}")


@services.command()
@HOME
def down(home: Path) -> None:
    """Stop the services started by `jxc services up` (their data is kept)."""
    state = _read_state(home)
    if not state:
        click.echo("no local services recorded under " + str(home / "services"))
        return
    for name, entry in state.items():
        pid = entry.get("pid")
        if isinstance(pid, int) and local.pid_alive(pid):
            local.LocalServer(name, None, pid, 0, str(entry.get("url")), Path()).stop()
            click.echo(f"{name:10} stopped (pid {pid})")
        else:
            click.echo(f"{name:10} was not running")
    _state_path(home).unlink(missing_ok=True)


@services.command()
@HOME
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(home: Path, as_json: bool) -> None:
    """Show whether each local service runs, and where."""
    state = _read_state(home)
    report = {
        name: {**state.get(name, {}), "running": _running(state.get(name, {}))}
        for name in ("nats", "mosquitto")
    }
    if as_json:
        click.echo(json.dumps(report))
        return
    for name, entry in report.items():
        where = entry.get("url", "-")
        click.echo(f"{name:10} {'running' if entry['running'] else 'stopped':8} {where}")
    if not all(entry["running"] for entry in report.values()):
        raise SystemExit(1)
