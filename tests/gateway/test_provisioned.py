"""The configuration a gateway runs at start: the centre's last one on disk, written
atomically, else the environment's as revision 0."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.config import GatewaySettings
from gateway.provisioned import ConfigStore, effective, from_settings
from protocol import HomeConfigBody
from protocol.home_config import ConfiguredDevice


def _settings(**extra: object) -> GatewaySettings:
    values: dict[str, object] = {"id": "gw-1", "home_id": "home-1", "mqtt_password": "pw"}
    return GatewaySettings(**(values | extra))  # type: ignore[arg-type]


def _centre_config(revision: int = 4, home_id: str = "home-1") -> HomeConfigBody:
    return HomeConfigBody(
        revision=revision,
        home_id=home_id,
        devices={"sos-9": ConfiguredDevice(kind="sos_button", transport="zigbee2mqtt")},
    )


def test_the_environment_is_revision_zero(tmp_path: Path) -> None:
    settings = _settings(
        serial_devices={"btn-1": "/dev/ttyUSB0"},
        z2m_devices={"sos-1": "sos_button"},
        z2m_rooms={"sos-1": "hall"},
        serial_heartbeat_s=60,
        checkin_due="09:30",
        tz="Europe/Berlin",
        heartbeat_interval_s=45,
        fall_cancel_window_s=10,
    )
    config = from_settings(settings)
    assert config.revision == 0
    assert config.devices["btn-1"] == ConfiguredDevice(
        kind="call_button", transport="serial", port="/dev/ttyUSB0", heartbeat_s=60
    )
    assert config.devices["sos-1"].room == "hall"
    assert config.rooms == ["hall"]
    assert config.resident.checkin_due == "09:30"
    assert config.resident.timezone == "Europe/Berlin"
    assert config.heartbeat_interval_s == 45
    assert config.detectors.fall_cancel_window_s == 10
    assert effective(settings, ConfigStore(tmp_path / "none.json")) == config


def test_the_centres_stored_config_wins_over_the_environment(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "home-config.json")
    store.save(_centre_config())
    settings = _settings(z2m_devices={"sos-1": "sos_button"})
    assert effective(settings, store) == _centre_config()


def test_a_stored_config_for_another_home_is_ignored(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "home-config.json")
    store.save(_centre_config(home_id="home-2"))
    assert effective(_settings(), store).revision == 0


def test_an_unreadable_stored_config_falls_back_to_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "home-config.json"
    path.write_text('{"revision": 3, "home_id": ')  # what no atomic write leaves behind
    store = ConfigStore(path)
    assert store.load() is None
    assert effective(_settings(), store).revision == 0


def test_saving_replaces_the_file_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "data" / "home-config.json")
    store.save(_centre_config(4))
    store.save(_centre_config(5))
    assert store.load() == _centre_config(5)
    assert [p.name for p in store.path.parent.iterdir()] == ["home-config.json"]


def test_a_failed_save_keeps_the_old_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ConfigStore(tmp_path / "home-config.json")
    store.save(_centre_config(4))

    def power_cut(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", power_cut)
    with pytest.raises(OSError, match="disk full"):
        store.save(_centre_config(5))
    assert store.load() == _centre_config(4)
    assert [p.name for p in tmp_path.iterdir()] == ["home-config.json"]
