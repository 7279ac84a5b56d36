"""A newer home configuration from the centre, applied to the running gateway.

Runs on the gateway's own thread (``Gateway.on_config``), so no device event is handled
half-way through a change. A revision not newer than the one running is ignored (the broker
hands the retained configuration over again on every reconnect). A configuration this gateway
cannot run (a kind its registry does not know, another home) is refused whole: the old one
keeps running, and a ``config_rejected`` event tells the centre why. Otherwise it is stored
first (so a restart runs it), then applied, and a ``config_applied`` event tells the centre
the revision, which sections changed, and anything that only a restart can apply.

Live: rooms, devices (Zigbee2MQTT devices join or leave the bridge's table; serial links are
started and stopped), device heartbeats, the resident's profile (night limits, check-in, time
zone), detector settings, the gateway's own heartbeat and the away periods. Not live: Home
Assistant's discovery (its device list is built at start).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from edge.events import DeviceRef
from edge.serial.link import SerialLink
from edge.zigbee2mqtt.bridge import Zigbee2MqttBridge
from gateway import OutboxError
from gateway import home_setup as setup
from gateway.provisioned import ConfigStore
from gateway.service import Gateway
from gateway.uplink import Uplink
from protocol import (
    Channel,
    EventBody,
    EventMessage,
    HomeConfigBody,
    HomeConfigMessage,
    MessageRejected,
    TopicName,
    encode,
)
from protocol.messages import Scalar

log = logging.getLogger(__name__)
MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class ConfigChange:
    """What a new configuration changes. ``relinked`` devices keep their id but not their
    kind, transport or port: they are stopped and started again."""

    added: frozenset[str]
    removed: frozenset[str]
    relinked: frozenset[str]
    sections: tuple[str, ...]  # devices, rooms, resident, detectors, heartbeat, away

    @property
    def restarted(self) -> frozenset[str]:
        return self.added | self.relinked


def diff(old: HomeConfigBody, new: HomeConfigBody) -> ConfigChange:
    kept = old.devices.keys() & new.devices.keys()

    def link_of(config: HomeConfigBody, device_id: str) -> tuple[str, str, str | None]:
        device = config.devices[device_id]
        return device.kind, device.transport, device.port

    relinked = frozenset(d for d in kept if link_of(old, d) != link_of(new, d))
    heartbeats_differ = any(old.devices[d].heartbeat_s != new.devices[d].heartbeat_s for d in kept)
    sections = {
        "devices": old.devices.keys() != new.devices.keys() or bool(relinked) or heartbeats_differ,
        "rooms": old.rooms != new.rooms or setup.rooms(old) != setup.rooms(new),
        "resident": old.resident != new.resident,
        "detectors": old.detectors != new.detectors,
        "heartbeat": old.heartbeat_interval_s != new.heartbeat_interval_s,
        "away": old.away != new.away,
    }
    return ConfigChange(
        added=frozenset(new.devices.keys() - old.devices.keys()),
        removed=frozenset(old.devices.keys() - new.devices.keys()),
        relinked=relinked,
        sections=tuple(name for name, differs in sections.items() if differs),
    )


class Reconfigurer:
    """Holds the configuration the gateway runs and moves it to newer ones (module docstring)."""

    def __init__(
        self,
        gateway: Gateway,
        store: ConfigStore,
        running: HomeConfigBody,
        *,
        open_link: Callable[[DeviceRef, str], SerialLink],
        bridge: Zigbee2MqttBridge | None = None,
        uplink: Uplink | None = None,
        restart_for: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.running = running
        self._open_link = open_link
        self._bridge = bridge
        self._uplink = uplink
        # Section -> what in this process only takes it at start (e.g. Home Assistant).
        self._restart_for = dict(restart_for or {})
        self._clock = clock

    def offer(self, message: HomeConfigMessage) -> None:
        config = message.body
        if config.revision <= self.running.revision:
            log.debug("configuration revision %d not newer: ignored", config.revision)
            return
        found = setup.problems(config, self.gateway.home_id)
        if found:
            self._refuse(config.revision, "unusable", "; ".join(found))
            return
        try:
            self.store.save(config)
        except OSError as err:
            self._refuse(config.revision, "not_stored", str(err))
            return
        change = diff(self.running, config)
        ignored = self._apply(config, change)
        self.running = config
        restart = sorted({self._restart_for[s] for s in change.sections if s in self._restart_for})
        log.info(
            "configuration revision %d applied: changed %s; restart needed for %s",
            config.revision,
            ", ".join(change.sections) or "nothing",
            ", ".join(restart) or "nothing",
        )
        self._record(
            "config_applied",
            {
                "revision": config.revision,
                "changed": ",".join(change.sections),
                "restart_needed": ",".join(restart),
                "ignored": "; ".join(ignored),
            },
        )

    def refuse_payload(self, topic: str, payload: bytes, err: MessageRejected) -> None:
        """A downlink that is no valid message (``Uplink.on_rejected``): answered when it was
        meant as a configuration. An empty payload is the centre clearing the retained
        configuration (a revoked gateway), not a configuration. Any thread: it only writes to
        the outbox."""
        if payload and topic == str(TopicName(self.gateway.gateway_id, Channel.CONFIG)):
            self._refuse(None, err.reason.value, err.detail)

    def _apply(self, config: HomeConfigBody, change: ConfigChange) -> list[str]:
        """Bring the running gateway to ``config``; what could not be applied, as notes."""
        gateway, now, ignored = self.gateway, self._clock(), []
        for device_id in change.removed | change.relinked:
            link = gateway.serial_links.pop(device_id, None)
            if link is not None:
                link.stop()
        gateway.devices = setup.device_refs(config)
        gateway.rooms = setup.rooms(config)
        gateway.supervisor.supervise(setup.supervision_intervals(config), now)
        for device_id, port in setup.serial_ports(config).items():
            if device_id in change.restarted:
                link = self._open_link(gateway.devices[device_id], port)
                gateway.serial_links[device_id] = link
                link.start()
        zigbee = setup.zigbee_devices(config)
        if self._bridge is not None:
            self._bridge.set_devices(zigbee)
        elif zigbee:
            ignored.append(f"{len(zigbee)} Zigbee device(s): Zigbee2MQTT is off here")
        setup.configure_home_watch(gateway.home, config, gateway.rooms)
        gateway.falls.cancel_window_s = config.detectors.fall_cancel_window_s
        if self._uplink is not None:
            self._uplink.heartbeat_interval_s = config.heartbeat_interval_s
        return ignored

    def _refuse(self, revision: int | None, reason: str, detail: str) -> None:
        log.error("configuration refused (%s): %s", reason, detail)
        fields: dict[str, Scalar] = {"reason": reason, "detail": detail[:MAX_REASON_CHARS]}
        if revision is not None:
            fields["revision"] = revision
        fields["running_revision"] = self.running.revision
        self._record("config_rejected", fields)

    def _record(self, kind: str, detail: dict[str, Scalar]) -> None:
        """Through the outbox, resent until the centre's receipt: the installer waits for it."""
        now = self._clock()
        event = EventMessage(
            gateway_id=self.gateway.gateway_id,
            gateway_time=datetime.fromtimestamp(now, UTC),
            body=EventBody(kind=kind, detail=detail),
        )
        try:
            self.gateway.outbox.add(event.id, Channel.EVENT.value, encode(event), now)
        except OutboxError:
            log.critical("could not store the %s event", kind, exc_info=True)
            return
        if self._uplink is not None:
            self._uplink.wake()
