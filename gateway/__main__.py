"""``python -m gateway``: run one home's gateway from GATEWAY_* settings."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable

from pydantic import ValidationError

from edge.events import EdgeEvent
from edge.serial.link import SerialLink
from edge.zigbee2mqtt.bridge import Zigbee2MqttBridge
from gateway import GatewayError
from gateway.backlog import TelemetryBacklog
from gateway.config import GatewaySettings
from gateway.detect.checkin import CheckinConfig
from gateway.homeassistant import HomeAssistantPublisher
from gateway.homewatch import local_seconds, zone_time
from gateway.metrics import GatewayMetrics
from gateway.outbox import Outbox
from gateway.service import Gateway
from gateway.uplink import Uplink
from protocol import DownlinkMessage
from protocol.logs import configure_logging


def main() -> int:
    configure_logging()
    try:
        settings = GatewaySettings()
    except ValidationError as err:
        print(f"gateway: invalid configuration:\n{err}", file=sys.stderr)
        return 2
    devices = settings.devices()
    homeassistant = None
    if settings.ha_discovery:
        homeassistant = HomeAssistantPublisher(
            settings.zigbee2mqtt,
            gateway_id=settings.id,
            devices=devices,
            prefix=settings.ha_prefix,
            z2m_base_topic=settings.z2m_base_topic if settings.z2m_enabled else None,
            rooms=settings.z2m_rooms,
            client_id=f"gateway-{settings.id}-ha",
        )
    try:
        outbox = Outbox(settings.data_dir / "outbox.sqlite3", observer=homeassistant)
        backlog = None
        if settings.telemetry_quota_bytes:
            backlog = TelemetryBacklog(
                settings.data_dir / "telemetry-backlog.sqlite3", settings.telemetry_quota_bytes
            )
    except GatewayError as err:
        print(f"gateway: {err}", file=sys.stderr)
        return 1
    gateway = Gateway(
        settings.id,
        settings.home_id,
        outbox,
        fall_cancel_window_s=settings.fall_cancel_window_s,
        devices=settings.devices(),
        supervised_s=settings.heartbeat_intervals(),
        rooms=settings.z2m_rooms,
        local_time=zone_time(settings.tz) if settings.tz else local_seconds,
        checkin=CheckinConfig(due=settings.checkin_due) if settings.checkin_due else None,
        home_state=settings.data_dir / "home-detectors.pickle",
    )
    feed: Callable[[EdgeEvent | DownlinkMessage], None] = gateway.submit
    if homeassistant is not None:
        gateway.supervisor.on_change = homeassistant.device_state
        feed = _tee(gateway.submit, homeassistant.observe)
    uplink = Uplink(
        settings.uplink,
        settings.home_id,
        outbox,
        feed,
        heartbeat_interval_s=settings.heartbeat_interval_s,
        resend_interval_s=settings.resend_interval_s,
        backlog=backlog,
    )
    gateway.uplink = uplink
    if homeassistant is not None:
        homeassistant.centre_connected = uplink.connected.is_set
    for device_id, serial_device in settings.serial_devices.items():
        link = SerialLink(devices[device_id], serial_device.port, feed)
        gateway.serial_links[device_id] = link
    bridge = None
    if settings.z2m_enabled:
        bridge = Zigbee2MqttBridge(
            settings.zigbee2mqtt,
            {name: devices[name] for name in settings.z2m_devices},
            gateway.submit,
            client_id=f"gateway-{settings.id}-z2m",
            base_topic=settings.z2m_base_topic,
        )

    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    if homeassistant is not None:
        homeassistant.start()
    if settings.metrics_port is not None:
        gateway.metrics = GatewayMetrics()
        gateway.metrics.watch(gateway, bridge)
        gateway.metrics.serve(settings.metrics_host, settings.metrics_port)
    gateway.start()
    uplink.start()
    for link in gateway.serial_links.values():
        link.start()
    if bridge:
        bridge.start()
    logging.getLogger("gateway").info(
        "gateway %s for home %s running: %d serial device(s), zigbee2mqtt %s",
        settings.id,
        settings.home_id,
        len(gateway.serial_links),
        "on" if bridge else "off",
    )
    stopping.wait()
    if bridge:
        bridge.stop()
    for link in gateway.serial_links.values():
        link.stop()
    gateway.stop()
    uplink.stop()
    if homeassistant is not None:
        homeassistant.stop()
    outbox.close()
    if backlog is not None:
        backlog.close()
    return 0


def _tee(
    first: Callable[[EdgeEvent | DownlinkMessage], None],
    second: Callable[[EdgeEvent | DownlinkMessage], None],
) -> Callable[[EdgeEvent | DownlinkMessage], None]:
    """One feed to two consumers (the gateway, then Home Assistant's display)."""

    def both(item: EdgeEvent | DownlinkMessage) -> None:
        first(item)
        second(item)

    return both


if __name__ == "__main__":
    sys.exit(main())
