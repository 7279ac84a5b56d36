"""Gateway settings refuse, at start-up, what would only fail at the first alarm."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.config import GatewaySettings

BASE = {"id": "gw-1", "home_id": "home-1", "mqtt_password": "secret"}


def test_valid_settings_give_the_gateway_its_own_broker_identity() -> None:
    settings = GatewaySettings(**BASE, serial_devices={"call-button-1": "/dev/ttyUSB0"})
    assert settings.uplink.username == "gw-1"  # the broker ACL is keyed on it
    assert settings.zigbee2mqtt.username == "gw-1"
    assert "secret" not in repr(settings)


@pytest.mark.parametrize(
    "override",
    [
        {"id": "GW 1"},
        {"id": "gw-1\n"},
        {"serial_devices": {"call button": "/dev/ttyUSB0"}},
        {"z2m_devices": {"hall/sos": "sos_button"}},
        {"z2m_devices": {"sos-1": "toaster"}},
        {"mqtt_port": 0},
        {"resend_interval_s": 0},
    ],
)
def test_bad_settings_are_refused_with_a_reason(override: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as info:
        GatewaySettings(**{**BASE, **override})
    assert str(info.value)


def test_missing_password_is_refused() -> None:
    with pytest.raises(ValidationError, match="mqtt_password"):
        GatewaySettings(id="gw-1", home_id="home-1")  # type: ignore[call-arg]


def test_time_zone_is_checked() -> None:
    assert GatewaySettings(**BASE, tz="Asia/Shanghai").tz == "Asia/Shanghai"
    with pytest.raises(ValidationError, match="time zone"):
        GatewaySettings(**BASE, tz="Mars/Olympus_Mons")


def test_zone_time_is_the_local_clock() -> None:
    from datetime import UTC, datetime

    from gateway.homewatch import zone_time

    noon_utc = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()
    local = zone_time("Asia/Shanghai")(noon_utc)
    assert datetime.fromtimestamp(local, UTC).hour == 20  # UTC+8, read as UTC
