"""Device-side ends of a serial line: a pseudo-terminal, or a TCP port like ser2net offers.

The host opens the other end (the pty's slave path, via a stable symlink, or the TCP URL)
with pyserial exactly as it would open real hardware.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import tty
from pathlib import Path
from typing import Protocol


class DevicePort(Protocol):
    def write(self, data: bytes) -> None: ...
    def read(self, timeout: float) -> bytes: ...
    def close(self) -> None: ...


class PtyPort:
    """A pseudo-terminal whose slave side is published at ``link`` (a symlink, like by-id).

    ``unplug()`` makes the port vanish as a pulled USB cable does; ``plug()`` brings a new one
    up under the same path.
    """

    def __init__(self, link: Path) -> None:
        self.link = link
        self._master = -1
        self._slave = -1
        self.plug()

    def plug(self) -> None:
        master, slave = os.openpty()
        # Raw mode on the slave: no echo, no line discipline touching our binary frames.
        tty.setraw(slave)
        self._master, self._slave = master, slave
        tmp = self.link.with_name(self.link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.link)

    def unplug(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1

    def write(self, data: bytes) -> None:
        if self._master < 0:
            raise OSError("port unplugged")
        view = memoryview(data)
        while view:
            written = os.write(self._master, view)
            view = view[written:]

    def read(self, timeout: float) -> bytes:
        master = self._master
        if master < 0:
            raise OSError("port unplugged")
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(master, 4096)
        except OSError:
            return b""  # EIO: nobody has the slave open right now

    def close(self) -> None:
        self.unplug()


class TcpPort:
    """Serves the device on a TCP port (one host connection at a time), like ser2net.

    ``unplug()`` drops the host's connection and stops listening, as a ser2net box losing its
    serial device does; ``plug()`` listens again on the same address.
    """

    def __init__(self, host: str, port: int) -> None:
        self._server: socket.socket | None = None
        self.address: tuple[str, int] = (host, port)
        self._listen(host, port)
        self._conn: socket.socket | None = None
        self._lock = threading.Lock()

    def _listen(self, host: str, port: int) -> None:
        server = socket.create_server((host, port), reuse_port=False)
        server.settimeout(0.2)
        self._server = server
        self.address = server.getsockname()[:2]

    def _connection(self, timeout: float) -> socket.socket | None:
        server = self._server
        if server is None:
            raise OSError("port unplugged")
        if self._conn is None:
            server.settimeout(timeout)
            try:
                conn, _ = server.accept()
            except TimeoutError:
                return None
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn = conn
        return self._conn

    def write(self, data: bytes) -> None:
        conn = self._conn
        if conn is None:
            raise OSError("no host connected")
        with self._lock:
            conn.sendall(data)

    def read(self, timeout: float) -> bytes:
        conn = self._connection(timeout)
        if conn is None:
            return b""
        ready, _, _ = select.select([conn], [], [], timeout)
        if not ready:
            return b""
        try:
            data = conn.recv(4096)
        except OSError:
            data = b""
        if not data:
            conn.close()
            self._conn = None
        return data

    def unplug(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def plug(self) -> None:
        if self._server is None:
            self._listen(*self.address)

    def close(self) -> None:
        self.unplug()
