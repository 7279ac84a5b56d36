"""Gateway settings refuse, at start-up, what would only fail at the first alarm."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.config import GatewaySettings
from protocol.mqtt import BrokerTls

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
        {"home_id": "h" * 201},  # longer than the wire contract carries
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


def test_undelivered_after_stays_within_social_alarm_practice_outside_tests() -> None:
    with pytest.raises(ValidationError, match="60-1800 s"):
        GatewaySettings(**BASE, undelivered_after_s=2)
    assert GatewaySettings(**BASE, undelivered_after_s=2, test_short_timers=True)
    with pytest.raises(ValidationError):
        GatewaySettings(**BASE, undelivered_after_s=1801, test_short_timers=True)


def test_a_backup_centre_is_its_own_broker_account_under_the_gateway_id() -> None:
    assert GatewaySettings(**BASE).backup is None
    settings = GatewaySettings(
        **BASE,
        backup_mqtt_host="backup.example",
        backup_mqtt_port=8883,
        backup_mqtt_password="other-secret",
        backup_mqtt_tls=True,
    )
    backup = settings.backup
    assert backup is not None
    assert (backup.host, backup.port, backup.username) == ("backup.example", 8883, "gw-1")
    assert backup.password == "other-secret"
    assert backup.tls == BrokerTls()  # TLS with the system's CAs, hostname checked
    assert settings.uplink.tls is None  # TLS is set per centre
    assert "other-secret" not in repr(settings)


def test_a_client_certificate_needs_its_key() -> None:
    with pytest.raises(ValidationError, match="backup_mqtt_certfile and backup_mqtt_keyfile"):
        GatewaySettings(**BASE, backup_mqtt_certfile="/etc/gw/cert.pem")
