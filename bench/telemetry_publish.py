"""The gateways' side of bench.telemetry, in a process of its own (as gateways are not the
centre's CPU): connect, wait for ``go`` on stdin, publish every payload with QoS 1 as a gateway
does, print ``published <seconds>`` once the broker has acknowledged the last one.

    python -m bench.telemetry_publish <payloads.pickle> <host> <port> <username>
    (password in BENCH_PUBLISH_PASSWORD)
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time
from pathlib import Path
from typing import Any

from protocol.mqtt import BrokerEndpoint, new_client

# QoS 1 messages in flight at once: enough to keep the broker busy, as thousands of gateways
# publishing at the same time would.
IN_FLIGHT = 1000


def main() -> int:
    path, host, port, username = sys.argv[1:5]
    payloads: list[tuple[str, bytes]] = pickle.loads(Path(path).read_bytes())
    endpoint = BrokerEndpoint(host, int(port), username, os.environ["BENCH_PUBLISH_PASSWORD"])
    client = new_client(f"bench-publisher-{os.getpid()}", endpoint)
    # The window is ours (below), not paho's: with a limit of its own, paho looks through every
    # message in flight on each acknowledgement (for the next one to send), O(n) a message.
    client.max_inflight_messages_set(0)
    # At most IN_FLIGHT handed to paho and not yet acknowledged.
    window = threading.BoundedSemaphore(IN_FLIGHT)
    acknowledged = threading.Semaphore(0)
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()

    def on_publish(*_args: Any) -> None:
        window.release()
        acknowledged.release()

    client.on_publish = on_publish
    client.connect(host, int(port))
    client.loop_start()
    if not connected.wait(10):
        print("not connected", flush=True)
        return 1
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    for topic, payload in payloads:
        window.acquire()
        client.publish(topic, payload, qos=1)
    for _ in payloads:
        acknowledged.acquire()
    print(f"published {time.perf_counter() - started:.3f}", flush=True)
    client.disconnect()
    client.loop_stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
