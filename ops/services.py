"""Local NATS JetStream and Mosquitto on loopback, for development, the demo and tests.

Never touches system-wide services: each server runs from a config written under the given
folder, with its data beside it. Used by `jxc services`, `jxc demo` and the test fixtures.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ops.deploy.mosquitto.render import QUEUE_LIMITS

DEFAULT_NATS_PORT = 14222
DEFAULT_NATS_MONITOR_PORT = 18222
DEFAULT_MQTT_PORT = 11883


class ServiceError(RuntimeError):
    """A local service could not be started or did not become ready."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_binary(name: str) -> str:
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if found is None:
        raise ServiceError(
            f"{name} is not installed: run `make test` or `make demo` (they install it), "
            f"or `apt-get install {name}`"
        )
    return found


@dataclass
class LocalServer:
    name: str
    process: subprocess.Popen[bytes] | None
    pid: int
    port: int
    url: str
    log_path: Path

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return pid_alive(self.pid)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Graceful stop (SIGTERM), then SIGKILL if it does not exit in time."""
        _signal_and_wait(self.pid, signal.SIGTERM, timeout_s, self.process)
        if self.alive():
            self.kill()

    def kill(self) -> None:
        """Crash it: SIGKILL, no chance to flush."""
        _signal_and_wait(self.pid, signal.SIGKILL, 5.0, self.process)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); check its state.
    fields = proc_stat(pid)
    return fields is None or fields[0] != "Z"


def proc_stat(pid: int) -> list[str] | None:
    """Linux's /proc/<pid>/stat after the command name (which may hold spaces and
    parentheses): state first, then ppid, …; utime and stime are [11] and [12]. None where
    there is no such file."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def _signal_and_wait(
    pid: int, sig: signal.Signals, timeout_s: float, process: subprocess.Popen[bytes] | None
) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout_s)
        return
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def wait_for_port(port: int, *, timeout_s: float, process: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServiceError(f"process exited with code {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise ServiceError(f"nothing listening on 127.0.0.1:{port} after {timeout_s:.0f} s")


def wait_for_http_ok(
    url: str, *, timeout_s: float, process: subprocess.Popen[bytes] | None
) -> None:
    deadline = time.monotonic() + timeout_s
    last_error = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServiceError(f"process exited with code {process.returncode}: {last_error}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last_error = str(exc)
        time.sleep(0.05)
    raise ServiceError(f"{url} not ready after {timeout_s:.0f} s: {last_error}")


def _spawn(argv: list[str], log_path: Path, *, detach: bool) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
        )


def spawn_jxc(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Run `jxc ARGS` (as `python -m ops`, the same interpreter) with output to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "ops", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


def start_nats(
    folder: Path,
    *,
    port: int = DEFAULT_NATS_PORT,
    monitor_port: int = DEFAULT_NATS_MONITOR_PORT,
    detach: bool = False,
    extra_config: str = "",
    timeout_s: float = 20.0,
) -> LocalServer:
    """nats-server with JetStream on 127.0.0.1, data and config under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "nats.conf"
    config.write_text(
        f"""# written by jxc: local development server, loopback only
server_name: jxc_local_{port}
listen: 127.0.0.1:{port}
http: 127.0.0.1:{monitor_port}
jetstream {{
  store_dir: "{folder / "jetstream"}"
  max_memory_store: 256MB
  max_file_store: 20GB
}}
{extra_config}
"""
    )
    return run_nats_config(
        config, port=port, monitor_port=monitor_port, detach=detach, timeout_s=timeout_s
    )


def run_nats_config(
    config: Path,
    *,
    port: int,
    monitor_port: int,
    detach: bool = False,
    timeout_s: float = 20.0,
) -> LocalServer:
    """Run nats-server on a config file (ours or a rendered deploy config) and await /healthz."""
    log_path = config.parent / "nats.log"
    process = _spawn([find_binary("nats-server"), "-c", str(config)], log_path, detach=detach)
    try:
        wait_for_http_ok(
            f"http://127.0.0.1:{monitor_port}/healthz", timeout_s=timeout_s, process=process
        )
    except ServiceError as exc:
        process.kill()
        raise ServiceError(f"nats-server did not start ({exc}); see {log_path}") from exc
    return LocalServer("nats", process, process.pid, port, f"nats://127.0.0.1:{port}", log_path)


def start_mosquitto(
    folder: Path,
    *,
    port: int = DEFAULT_MQTT_PORT,
    detach: bool = False,
    extra_config: str = "",
    timeout_s: float = 20.0,
) -> LocalServer:
    """Mosquitto on 127.0.0.1 with persistence under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "mosquitto.conf"
    log_path = folder / "mosquitto.log"
    config.write_text(
        f"""# written by jxc: local development broker, loopback only
per_listener_settings false
listener {port} 127.0.0.1
# Anonymous access is for this loopback development broker only; ops/deploy/mosquitto
# gives stores per-store credentials and topic ACLs.
allow_anonymous true
persistence true
persistence_location {folder}/
log_dest file {log_path}
# The store broker's queue limits (ops/deploy/mosquitto): Mosquitto's default of 1,000 queued
# messages per client silently drops readings for an edge that is restarting.
{QUEUE_LIMITS}
{extra_config}
"""
    )
    process = _spawn(
        [find_binary("mosquitto"), "-c", str(config)], folder / "stdout.log", detach=detach
    )
    try:
        wait_for_port(port, timeout_s=timeout_s, process=process)
    except ServiceError as exc:
        process.kill()
        raise ServiceError(f"mosquitto did not start ({exc}); see {log_path}") from exc
    return LocalServer(
        "mosquitto", process, process.pid, port, f"mqtt://127.0.0.1:{port}", log_path
    )
