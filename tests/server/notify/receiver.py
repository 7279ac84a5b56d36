"""A tiny webhook receiver on a free loopback port: answers with scripted statuses and keeps
every request it got (headers and raw body), as a provider's endpoint would see them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from server.notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def signed_with(self, secret: str) -> bool:
        """What a receiver checks: a fresh timestamp and the HMAC of exactly these bytes."""
        timestamp, signature = self.headers[TIMESTAMP_HEADER], self.headers[SIGNATURE_HEADER]
        return verify(secret, timestamp, signature, self.body, time.time())


@dataclass
class Receiver:
    url: str
    statuses: list[int]  # answers in order; 200 once they run out
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.requests)


@contextmanager
def receiver(statuses: list[int]) -> Iterator[Receiver]:
    state = Receiver("", list(statuses))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.requests.append(Received(dict(self.headers.items()), body))
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test asserts on what arrived."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/eldercare?key=provider-key"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
