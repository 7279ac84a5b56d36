"""A home configuration turned into what the running gateway is made of: device references,
supervision intervals, rooms, the home's clock, the check-in and the night profile.

Pure functions of a :class:`~protocol.home_config.HomeConfigBody`, used alike when the gateway
starts and when the centre sends a newer configuration; :func:`configure_home_watch` hands the
home detectors their part; :func:`problems` says what of a configuration this gateway cannot
run (kinds its device registry does not know).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

from edge.devices import REGISTRY
from edge.events import DeviceRef
from gateway.detect.checkin import CheckinConfig, CheckinConfigError
from gateway.detect.night import NightConfig
from gateway.homewatch import HomeWatch, local_seconds, zone_time
from protocol import HomeConfigBody


def device_refs(config: HomeConfigBody) -> dict[str, DeviceRef]:
    return {d: DeviceRef(d, c.kind, c.transport) for d, c in config.devices.items()}


def serial_ports(config: HomeConfigBody) -> dict[str, str]:
    return {d: c.port for d, c in config.devices.items() if c.port is not None}


def zigbee_devices(config: HomeConfigBody) -> dict[str, DeviceRef]:
    return {d: r for d, r in device_refs(config).items() if r.transport == "zigbee2mqtt"}


def rooms(config: HomeConfigBody) -> dict[str, str]:
    return {d: c.room for d, c in config.devices.items() if c.room}


def supervision_intervals(config: HomeConfigBody) -> dict[str, float]:
    """Each device's expected heartbeat: its own override, else its kind's on its transport."""
    return {
        d: c.heartbeat_s or REGISTRY.get(c.kind).heartbeat_s[c.transport]
        for d, c in config.devices.items()
    }


def local_time(config: HomeConfigBody) -> Callable[[float], float]:
    zone = config.resident.timezone
    return zone_time(zone) if zone else local_seconds


def checkin(config: HomeConfigBody) -> CheckinConfig | None:
    due = config.resident.checkin_due
    return CheckinConfig(due=time.fromisoformat(due)) if due else None


def night(config: HomeConfigBody) -> NightConfig:
    detectors = config.detectors
    return NightConfig(
        dementia=config.resident.dementia,
        night_start_h=detectors.night_start_h,
        night_end_h=detectors.night_end_h,
        max_out_s=detectors.night_bed_exit_s,
        return_s=detectors.night_return_s,
    )


def configure_home_watch(watch: HomeWatch, config: HomeConfigBody, rooms: dict[str, str]) -> None:
    """The home detectors' part of ``config``: at start-up and on every newer configuration."""
    watch.reconfigure(
        rooms=rooms,
        local=local_time(config),
        checkin=checkin(config),
        night=night(config),
        away=config.away,
    )


def problems(config: HomeConfigBody, home_id: str) -> list[str]:
    """What this gateway cannot run in ``config``; empty when it can run all of it."""
    found = []
    if config.home_id != home_id:
        found.append(f"home {config.home_id!r} is not this gateway's home {home_id!r}")
    for device_id, device in config.devices.items():
        if device.kind not in REGISTRY:
            found.append(f"{device_id}: unknown device kind {device.kind!r}")
        elif device.transport not in REGISTRY.get(device.kind).heartbeat_s:
            found.append(f"{device_id}: {device.kind} has no {device.transport} form")
    try:
        checkin(config)
    except CheckinConfigError as err:  # a due time too early for the reminder
        found.append(f"check-in: {err}")
    return found
