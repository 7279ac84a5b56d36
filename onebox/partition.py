"""A TCP path between a client and a server that a test can cut and heal: an uplink partition.

A home's link to the centre fails in the field as a mobile router losing signal or a cable
pulled: the gateway's connection dies and new ones are refused until the path returns.
:class:`Partition` forwards a loopback port to the real broker; :meth:`Partition.cut` closes
every forwarded connection and stops listening, :meth:`Partition.heal` listens again on the
same port. The broker itself stays up, so only this one client is cut off.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time

from onebox.net import free_port

log = logging.getLogger(__name__)
_CHUNK = 65536


class Partition:
    def __init__(self, target_host: str, target_port: int, *, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.cuts = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    def start(self) -> Partition:
        self.heal()
        return self

    def heal(self) -> None:
        """Let connections through again (on the same port)."""
        with self._lock:
            if self._listener is not None:
                return
            listener = _listen(self.host, self.port)
            self._listener = listener
        thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def cut(self) -> None:
        """Drop every forwarded connection and refuse new ones until :meth:`heal`."""
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, []
        if listener is not None:
            # shutdown() stops a Linux listener at once, even while the accept thread polls it.
            _close(listener)
            self.cuts += 1
        for pair in pairs:
            for sock in pair:
                _close(sock)

    def stop(self) -> None:
        self._stop.set()
        self.cut()
        for thread in self._threads:
            thread.join(timeout=2)

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by cut()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)  # the broker itself is down: refuse as it would
                continue
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    _close(client)
                    _close(upstream)
                    return
                self._pairs.append((client, upstream))
            thread = threading.Thread(target=self._pump, args=(client, upstream), daemon=True)
            thread.start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        for sock in (a, b):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = {a: b, b: a}
        with selectors.DefaultSelector() as selector:
            for sock in (a, b):
                selector.register(sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                try:
                    ready = selector.select(0.5)
                    for key, _ in ready:
                        src: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = src.recv(_CHUNK)
                        if not data:
                            raise ConnectionResetError("closed")
                        peer[src].setblocking(True)
                        peer[src].sendall(data)
                        peer[src].setblocking(False)
                except (OSError, ValueError):
                    break
        _close(a)
        _close(b)


def _listen(host: str, port: int) -> socket.socket:
    """Listen on ``port`` again; the old listener may take a moment to let go of it."""
    deadline = time.monotonic() + 5
    while True:
        try:
            listener = socket.create_server((host, port), reuse_port=False)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # the kernel releasing the old socket: nothing to poll
            continue
        listener.settimeout(0.2)
        return listener


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
