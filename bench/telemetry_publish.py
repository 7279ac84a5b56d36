"""The gateways' side of bench.telemetry, in a process of its own (as gateways are not the
centre's CPU): connect, wait for ``go`` on stdin, publish every payload with QoS 1 as a gateway
does, print ``published <seconds>`` once the broker has acknowledged the last one.

    python -m bench.telemetry_publish <payloads.pickle> <host> <port> <username>
    (password in BENCH_PUBLISH_PASSWORD)

One thread drives paho's loop itself: publishing from another thread than paho's network
thread costs a wake-up of that thread per message, and both take turns on the interpreter.
Thousands of gateways do this work on their own CPUs; here it shares the centre's cores, so
it is kept to what a client must do.
"""

from __future__ import annotations

import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from protocol.mqtt import BrokerEndpoint, new_client

# QoS 1 messages in flight at once: enough to keep the broker busy, as thousands of gateways
# publishing at the same time would.
IN_FLIGHT = 1000
_CONNECT_S = 10.0


def main() -> int:
    path, host, port, username = sys.argv[1:5]
    payloads: list[tuple[str, bytes]] = pickle.loads(Path(path).read_bytes())
    endpoint = BrokerEndpoint(host, int(port), username, os.environ["BENCH_PUBLISH_PASSWORD"])
    client = new_client(f"bench-publisher-{os.getpid()}", endpoint)
    # The window is ours (below), not paho's: with a limit of its own, paho looks through every
    # message in flight on each acknowledgement (for the next one to send), O(n) a message.
    client.max_inflight_messages_set(0)
    state = {"connected": False, "unacknowledged": 0}

    def on_connect(*_args: Any) -> None:
        state["connected"] = True

    def on_publish(*_args: Any) -> None:
        state["unacknowledged"] -= 1

    client.on_connect = on_connect
    client.on_publish = on_publish
    client.connect(host, int(port))
    deadline = time.monotonic() + _CONNECT_S
    while not state["connected"] and time.monotonic() < deadline:
        client.loop(0.1)
    if not state["connected"]:
        print("not connected", flush=True)
        return 1
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    for topic, payload in payloads:
        while state["unacknowledged"] >= IN_FLIGHT:
            _loop(client)
        state["unacknowledged"] += 1
        client.publish(topic, payload, qos=1)
    while state["unacknowledged"]:
        _loop(client)
    print(f"published {time.perf_counter() - started:.3f}", flush=True)
    client.disconnect()
    return 0


def _loop(client: mqtt.Client) -> None:
    """One turn of paho's loop; a lost connection ends the run at once (nothing reconnects
    here, and the bench would otherwise wait minutes for points that never come)."""
    code = client.loop(1.0)
    if code != mqtt.MQTT_ERR_SUCCESS:
        raise SystemExit(f"publisher: connection lost ({mqtt.error_string(code)})")


if __name__ == "__main__":
    raise SystemExit(main())
