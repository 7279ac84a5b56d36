"""Prometheus metrics of one gateway, served on a local port when ``GATEWAY_METRICS_PORT`` is set.

What the gateway already knows (the outbox backlog, the telemetry kept on disk through an
outage, device states, refused frames and payloads) is read at scrape time; the one thing
measured on the way is how long an alarm takes from being raised to the centre's receipt.
Bound to 127.0.0.1 by default: the endpoint has no login, so it is for a local agent (node
exporter style), not for the internet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.supervision import DeviceState

if TYPE_CHECKING:
    from edge.zigbee2mqtt.bridge import Zigbee2MqttBridge
    from gateway.backlog import TelemetryBacklog
    from gateway.service import Gateway

log = logging.getLogger(__name__)

# Raised -> the centre's receipt: tens of ms on a good day, the whole outage after one.
DELIVERY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200)


class GatewayMetrics:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry()
        self.delivery = Histogram(
            "eldercare_gateway_alarm_delivery_seconds",
            "From an alarm being stored in the outbox to the centre's receipt for it.",
            buckets=DELIVERY_BUCKETS_S,
            registry=self.registry,
        )
        self._clock = clock

    def watch(
        self,
        gateway: Gateway,
        bridge: Zigbee2MqttBridge | None = None,
        backlog: TelemetryBacklog | None = None,
    ) -> None:
        self.registry.register(_GatewayCollector(gateway, bridge, self._clock))
        if backlog is not None:
            self.registry.register(_BacklogCollector(backlog))

    def serve(self, host: str, port: int) -> None:
        start_http_server(port, addr=host, registry=self.registry)
        log.info("metrics on http://%s:%d/metrics", host, port)


class _GatewayCollector(Collector):
    def __init__(
        self, gateway: Gateway, bridge: Zigbee2MqttBridge | None, clock: Callable[[], float]
    ) -> None:
        self._gateway = gateway
        self._bridge = bridge
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        gateway = self._gateway
        depth = GaugeMetricFamily(
            "eldercare_gateway_outbox_depth",
            "Messages stored but not yet acknowledged by the centre, by channel.",
            labels=["channel"],
        )
        age = GaugeMetricFamily(
            "eldercare_gateway_outbox_oldest_age_seconds",
            "Age of the oldest unacknowledged message, by channel.",
            labels=["channel"],
        )
        now = self._clock()
        for channel, (count, oldest) in sorted(gateway.outbox.backlog().items()):
            depth.add_metric([channel], count)
            age.add_metric([channel], max(0.0, now - oldest))
        yield depth
        yield age
        yield CounterMetricFamily(
            "eldercare_gateway_alarms_raised", "Alarms raised since start.",
            value=gateway.alarms_raised,
        )  # fmt: skip
        states = GaugeMetricFamily(
            "eldercare_gateway_devices", "Supervised devices by state.", labels=["state"]
        )
        counts = dict.fromkeys(DeviceState, 0)
        for device in list(gateway.supervisor.devices.values()):
            counts[device.state] += 1
        for state, count in counts.items():
            states.add_metric([state.value], count)
        yield states
        refused = CounterMetricFamily(
            "eldercare_gateway_refused",
            "Device frames and payloads dropped, by transport and reason.",
            labels=["transport", "reason"],
        )
        serial: dict[str, int] = {}
        for link in list(gateway.serial_links.values()):
            for reason, count in link.rejected.items():
                serial[reason] = serial.get(reason, 0) + count
        for reason, count in sorted(serial.items()):
            refused.add_metric(["serial", reason], count)
        if self._bridge is not None:
            for reason, count in sorted(self._bridge.rejected.items()):
                refused.add_metric(["zigbee2mqtt", reason], count)
        yield refused
        yield from _delivery_paths(gateway)


def _delivery_paths(gateway: Gateway) -> Iterator[Metric]:
    """Which centres the gateway reaches, whether the home was told to act locally."""
    yield GaugeMetricFamily(
        "eldercare_gateway_not_delivered",
        "1 while the devices show NOT_DELIVERED (no centre confirms the alarms).",
        value=int(gateway.not_delivered_since is not None),
    )
    if gateway.uplink is None:
        return
    links = gateway.uplink.links()
    connected = GaugeMetricFamily(
        "eldercare_gateway_centre_connected",
        "1 while connected to the centre's (primary) or the backup centre's broker.",
        labels=["centre"],
    )
    connected.add_metric(["primary"], int(links.connected))
    if links.backup_configured:
        connected.add_metric(["backup"], int(links.backup_connected))
    yield connected
    yield GaugeMetricFamily(
        "eldercare_gateway_centre_refused",
        "1 while the centre's broker refuses the gateway (credentials, ACL, ban).",
        value=int(links.refusal is not None),
    )
    if links.backup_configured:
        yield GaugeMetricFamily(
            "eldercare_gateway_backup_in_use",
            "1 while unconfirmed alarms also go to the backup centre.",
            value=int(links.backup_in_use),
        )
        yield CounterMetricFamily(
            "eldercare_gateway_backup_engagements",
            "Times the backup centre was taken into use.",
            value=links.backup_engagements,
        )
        yield CounterMetricFamily(
            "eldercare_gateway_backup_receipts",
            "Receipts from the backup centre (an alarm it confirmed; repeats included).",
            value=links.backup_receipts,
        )


class _BacklogCollector(Collector):
    """The telemetry kept on disk while the centre is out of reach: how full the quota is, and
    how much was thinned (oldest first) to stay within it."""

    def __init__(self, backlog: TelemetryBacklog) -> None:
        self._backlog = backlog

    def collect(self) -> Iterator[Metric]:
        backlog = self._backlog
        yield GaugeMetricFamily(
            "eldercare_gateway_telemetry_backlog_messages",
            "Telemetry and device events kept on disk for the centre.",
            value=backlog.depth,
        )
        yield GaugeMetricFamily(
            "eldercare_gateway_telemetry_backlog_bytes",
            "Payload bytes of the telemetry kept on disk.",
            value=backlog.size_bytes,
        )
        yield GaugeMetricFamily(
            "eldercare_gateway_telemetry_backlog_quota_bytes",
            "The disk quota of that telemetry (GATEWAY_TELEMETRY_QUOTA_BYTES).",
            value=backlog.quota_bytes,
        )
        yield CounterMetricFamily(
            "eldercare_gateway_telemetry_thinned",
            "Telemetry dropped, oldest first, to stay within the quota (never alarms).",
            value=backlog.thinned,
        )
