"""How every component connects to a broker: MQTT v5, credentials, sessions.

MQTT v5 because with 3.1.1 a publish the broker's ACL denies still gets a PUBACK, so a
misconfigured gateway would believe its alarms were delivered. The factory keeps paho's
construction details in one place; callers never see paho's return codes.
"""

from __future__ import annotations

import logging
import random
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerTls:
    """TLS to the broker. ``ca_file`` None trusts the system's CAs; a client certificate is
    optional; ``insecure`` skips the hostname check (a test broker only, never a default)."""

    ca_file: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    insecure: bool = False


@dataclass(frozen=True)
class BrokerEndpoint:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    keepalive_s: int = 30
    tls: BrokerTls | None = None


# CONNACK reason codes (MQTT v5, 3.2.2.2) that no retry will change: the broker will not have
# this client until someone fixes its account, its ACL or its ban. The others (server busy,
# unavailable, quota exceeded ...) pass, so they are outages, not refusals.
DEFINITIVE_REFUSALS = frozenset(
    {
        0x84,  # unsupported protocol version
        0x85,  # client identifier not valid
        0x86,  # bad user name or password
        0x87,  # not authorized
        0x8A,  # banned
        0x8C,  # bad authentication method
    }
)


RECONNECT_CAP_S = (3, 6)  # the longest wait between two connection attempts, per client
# The centre's server processes, a handful, come back first after a broker restart: an alarm a
# gateway resends before the server's shared subscription is back is not queued for it, and
# would only arrive at the next resend, after newer ones.
SERVER_RECONNECT_CAP_S = (1, 1)


def is_definitive_refusal(reason: Any) -> bool:
    """Whether a failed CONNACK's reason (paho's ``ReasonCode``) is one retrying cannot cure."""
    return getattr(reason, "value", None) in DEFINITIVE_REFUSALS


def new_client(
    client_id: str,
    endpoint: BrokerEndpoint,
    *,
    reconnect_cap_s: tuple[int, int] = RECONNECT_CAP_S,
) -> mqtt.Client:
    """A paho MQTT v5 client with credentials and capped automatic reconnect delays."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )
    client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls is not None:
        tls = endpoint.tls
        client.tls_set(
            ca_certs=str(tls.ca_file) if tls.ca_file else None,
            certfile=str(tls.certfile) if tls.certfile else None,
            keyfile=str(tls.keyfile) if tls.keyfile else None,
        )
        client.tls_insecure_set(tls.insecure)
    # paho doubles the wait from 1 s up to the cap and adds no jitter of its own. A low cap
    # brings the backlog in within seconds of the path returning; a cap drawn per client
    # spreads a city's gateways, all cut off by the same outage, over a few seconds.
    client.reconnect_delay_set(min_delay=1, max_delay=random.randint(*reconnect_cap_s))  # noqa: S311 (jitter)
    client.on_socket_open = _no_delay
    # A bug in a callback must not kill paho's network thread (and with it all traffic);
    # callers guard their callbacks, this is the last line.
    client.suppress_exceptions = True
    client.on_log = _log_callback_failures
    return client


def _log_callback_failures(_client: mqtt.Client, _userdata: Any, level: int, text: str) -> None:
    """Surface what ``suppress_exceptions`` swallowed; paho's other chatter stays at debug
    (it reports e.g. a not-yet-connected client as an error)."""
    if text.startswith("Caught exception in"):
        log.error("MQTT callback failed: %s", text)
    else:
        log.debug("paho (%d): %s", level, text)


def _no_delay(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
    """Disable Nagle's algorithm: paho leaves it on, and with the peer's delayed ACK a small
    alarm publish can wait ~40 ms behind the previous one (measured by bench.presses)."""
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def connect_in_background(
    client: mqtt.Client, endpoint: BrokerEndpoint, *, session_expiry_s: int
) -> None:
    """Start paho's network thread; it connects, and reconnects, on its own.

    ``session_expiry_s > 0`` asks the broker to keep subscriptions and queued QoS 1 messages
    while the client is away (clean start off), so nothing sent to it meanwhile is lost.
    """
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    if session_expiry_s:
        props.SessionExpiryInterval = session_expiry_s
    client.connect_async(
        endpoint.host,
        endpoint.port,
        keepalive=endpoint.keepalive_s,
        clean_start=session_expiry_s == 0,
        properties=props,
    )
    client.loop_start()


def stop(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()
