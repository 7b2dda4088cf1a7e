"""A simulated serial device on a pseudo-terminal pair, so the real serial shell talks to it.

The device owns the pty's master side; the bridge opens the slave through a stable symlink
(`link`), like `/dev/serial/by-id/...` for a USB adapter. `unplug()` closes the pair (the
bridge's reads fail like a pulled cable) and removes the link; `plug()` makes a new pair and
points the link at it, like plugging the adapter back in.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from pathlib import Path
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


class Responder(Protocol):
    def feed(self, data: bytes) -> bytes: ...


class PtySerialDevice:
    def __init__(self, responder: Responder, link: Path) -> None:
        self._responder = responder
        self.link = link
        self._master: int | None = None
        self._slave: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.requests = 0

    @property
    def plugged(self) -> bool:
        return self._thread is not None

    def plug(self) -> str:
        """Create the pty pair, point `link` at it, start answering. Returns the slave path."""
        if self._thread is not None:
            raise RuntimeError("already plugged in")
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation: bytes as a UART moves them
        slave_path = os.ttyname(slave)
        self._master, self._slave = master, slave
        tmp = self.link.with_name(self.link.name + ".tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(slave_path)
        tmp.replace(self.link)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._serve, name=f"pty:{self.link.name}", daemon=True
        )
        self._thread.start()
        log.info("sim.plugged", link=str(self.link), tty=slave_path)
        return slave_path

    def unplug(self) -> None:
        """Pull the cable: stop answering, close both sides, remove the link."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=2)
        self._thread = None
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        log.info("sim.unplugged", link=str(self.link))

    def _serve(self) -> None:
        master = self._master
        assert master is not None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(master, 1024)
            except OSError:
                self._stop.wait(0.05)  # no slave open yet (EIO): keep waiting
                continue
            if not data:
                continue
            self.requests += 1
            reply = self._responder.feed(data)
            if reply:
                with contextlib.suppress(OSError):
                    os.write(master, reply)
