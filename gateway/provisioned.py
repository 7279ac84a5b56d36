"""The configuration the gateway runs: the centre's last one, kept on disk, else its own
environment's.

Precedence, at start:

1. ``<GATEWAY_DATA_DIR>/home-config.json``, the last configuration accepted from the centre,
   when present, readable and for this gateway's home. It replaces, as a whole, what the
   environment says about the home: ``GATEWAY_SERIAL_DEVICES``, ``GATEWAY_Z2M_DEVICES``,
   ``GATEWAY_Z2M_ROOMS``, ``GATEWAY_SERIAL_HEARTBEAT_S``, ``GATEWAY_CHECKIN_DUE``,
   ``GATEWAY_TZ``, ``GATEWAY_FALL_CANCEL_WINDOW_S`` and ``GATEWAY_HEARTBEAT_INTERVAL_S``.
2. Otherwise those environment settings, as revision 0: any configuration from the centre
   (revision 1 and up) is newer and replaces it.

Connection settings (ids, brokers, passwords, data dir, metrics, Home Assistant) always come
from the environment: the centre cannot reach a gateway it has not been told how to reach.
The file is written atomically (a temporary file, fsync, rename, fsync of the directory), so a
power cut leaves the old configuration or the new one, never half of one.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from gateway.config import GatewaySettings
from protocol import HomeConfigBody
from protocol.home_config import ConfiguredDevice, DetectorSettings, ResidentProfile

log = logging.getLogger(__name__)
CONFIG_FILE = "home-config.json"


class ConfigStore:
    """The last configuration accepted from the centre, as one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> HomeConfigBody | None:
        """The stored configuration; None when there is none or it cannot be read (then the
        environment's holds until the centre's retained configuration arrives again)."""
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            log.error("cannot read the stored configuration %s: %s", self.path, err)
            return None
        try:
            return HomeConfigBody.model_validate_json(text, strict=True)
        except ValidationError as err:
            log.error("stored configuration %s is unusable, ignored: %s", self.path, err)
            return None

    def save(self, config: HomeConfigBody) -> None:
        """Replace the stored configuration atomically; raises OSError."""
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(config.model_dump_json(indent=2).encode())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a power cut
        finally:
            os.close(dir_fd)


def from_settings(settings: GatewaySettings) -> HomeConfigBody:
    """The environment's description of the home, as revision 0."""
    room_of = settings.z2m_rooms
    devices = {
        device_id: ConfiguredDevice(
            kind=serial.kind,
            transport="serial",
            port=serial.port,
            room=room_of.get(device_id, ""),
            heartbeat_s=settings.serial_heartbeat_s,
        )
        for device_id, serial in settings.serial_devices.items()
    }
    devices |= {
        name: ConfiguredDevice(kind=kind, transport="zigbee2mqtt", room=room_of.get(name, ""))
        for name, kind in settings.z2m_devices.items()
    }
    due = settings.checkin_due
    return HomeConfigBody(
        revision=0,
        home_id=settings.home_id,
        devices=devices,
        rooms=sorted({room for room in room_of.values() if room}),
        resident=ResidentProfile(
            checkin_due=due.strftime("%H:%M") if due else None, timezone=settings.tz
        ),
        detectors=DetectorSettings(fall_cancel_window_s=settings.fall_cancel_window_s),
        heartbeat_interval_s=settings.heartbeat_interval_s,
    )


def effective(settings: GatewaySettings, store: ConfigStore) -> HomeConfigBody:
    """What the gateway runs at start (module docstring: precedence)."""
    stored = store.load()
    if stored is not None and stored.home_id != settings.home_id:
        log.warning(
            "stored configuration is for home %s, not %s: ignored", stored.home_id, settings.home_id
        )
        stored = None
    if stored is None:
        return from_settings(settings)
    log.info(
        "running the centre's configuration revision %d (GATEWAY_* device settings ignored)",
        stored.revision,
    )
    return stored
