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
from gateway import home_setup as setup
from gateway.backlog import TelemetryBacklog
from gateway.config import GatewaySettings
from gateway.homeassistant import HomeAssistantPublisher
from gateway.metrics import GatewayMetrics
from gateway.outbox import Outbox
from gateway.provisioned import CONFIG_FILE, ConfigStore, effective
from gateway.reconfigure import Reconfigurer
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
    store = ConfigStore(settings.data_dir / CONFIG_FILE)
    try:
        home = effective(settings, store)
    except ValidationError as err:
        print(f"gateway: invalid configuration:\n{err}", file=sys.stderr)
        return 2
    devices = setup.device_refs(home)
    homeassistant = None
    if settings.ha_discovery:
        homeassistant = HomeAssistantPublisher(
            settings.zigbee2mqtt,
            gateway_id=settings.id,
            devices=devices,
            prefix=settings.ha_prefix,
            z2m_base_topic=settings.z2m_base_topic if settings.z2m_enabled else None,
            rooms=setup.rooms(home),
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
        fall_cancel_window_s=home.detectors.fall_cancel_window_s,
        devices=devices,
        supervised_s=setup.supervision_intervals(home),
        rooms=setup.rooms(home),
        local_time=setup.local_time(home),
        checkin=setup.checkin(home),
        home_state=settings.data_dir / "home-detectors.pickle",
        undelivered_after_s=settings.undelivered_after_s,
    )
    setup.configure_home_watch(gateway.home, home, gateway.rooms)
    feed: Callable[[EdgeEvent | DownlinkMessage], None] = gateway.submit
    if homeassistant is not None:
        gateway.supervisor.on_change = homeassistant.device_state
        feed = _tee(gateway.submit, homeassistant.observe)
    uplink = Uplink(
        settings.uplink,
        settings.home_id,
        outbox,
        feed,
        heartbeat_interval_s=home.heartbeat_interval_s,
        resend_interval_s=settings.resend_interval_s,
        backlog=backlog,
        backup=settings.backup,
        backup_after_s=settings.undelivered_after_s,
        telemetry_gather_s=settings.telemetry_gather_s,
        telemetry_series=settings.telemetry_series,
    )
    gateway.uplink = uplink
    if homeassistant is not None:
        homeassistant.centre_connected = uplink.connected.is_set
    for device_id, port in setup.serial_ports(home).items():
        gateway.serial_links[device_id] = SerialLink(devices[device_id], port, feed)
    bridge = None
    if settings.z2m_enabled:
        bridge = Zigbee2MqttBridge(
            settings.zigbee2mqtt,
            setup.zigbee_devices(home),
            gateway.submit,
            client_id=f"gateway-{settings.id}-z2m",
            base_topic=settings.z2m_base_topic,
        )
    reconfigurer = Reconfigurer(
        gateway,
        store,
        home,
        open_link=lambda device, port: SerialLink(device, port, feed),
        bridge=bridge,
        uplink=uplink,
        # Home Assistant's discovery lists the devices and rooms it was started with.
        restart_for=dict.fromkeys(("devices", "rooms"), "home_assistant") if homeassistant else {},
    )
    gateway.on_config = reconfigurer.offer
    uplink.on_rejected = reconfigurer.refuse_payload

    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    if homeassistant is not None:
        homeassistant.start()
    if settings.metrics_port is not None:
        gateway.metrics = GatewayMetrics()
        gateway.metrics.watch(gateway, bridge, backlog)
        gateway.metrics.serve(settings.metrics_host, settings.metrics_port)
    gateway.start()
    uplink.start()
    for link in gateway.serial_links.values():
        link.start()
    if bridge:
        bridge.start()
    if settings.test_short_timers:
        logging.getLogger("gateway").warning(
            "GATEWAY_TEST_SHORT_TIMERS is on: alarms count as undelivered after %.0f s;"
            " for tests only",
            settings.undelivered_after_s,
        )
    logging.getLogger("gateway").info(
        "gateway %s for home %s running: %d serial device(s), zigbee2mqtt %s, backup centre %s",
        settings.id,
        settings.home_id,
        len(gateway.serial_links),
        "on" if bridge else "off",
        "configured" if uplink.backup else "none",
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
