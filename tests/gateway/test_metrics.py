"""The gateway's Prometheus metrics: outbox backlog and age, delivery time, device states,
refused frames; served over HTTP on a local port."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from edge.events import BatteryReported, DeviceRef, Key, KeyPressed
from gateway.backlog import TelemetryBacklog
from gateway.metrics import GatewayMetrics
from gateway.outbox import Outbox
from gateway.service import BACKUP_CHANCE_S, Gateway
from gateway.uplink import CentreLinks
from onebox.net import free_port
from protocol import ReceiptBody, ReceiptMessage
from tests.gateway.stubs import Clock, StubUplink

BUTTON = DeviceRef("call-button-1", "call_button", "serial")
PIR = DeviceRef("hall-pir", "motion_sensor", "zigbee2mqtt")


def scrape(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_backlog_delivery_and_device_states(tmp_path: Path) -> None:
    clock = Clock()
    gateway = Gateway(
        "gw-1",
        "home-1",
        Outbox(tmp_path / "o.sqlite3"),
        clock=clock,
        supervised_s={BUTTON.device_id: 150.0, PIR.device_id: 3600.0},
    )
    gateway.uplink = StubUplink()  # type: ignore[assignment]
    metrics = GatewayMetrics(clock)
    gateway.metrics = metrics
    metrics.watch(gateway)
    gateway.handle(KeyPressed(BUTTON, Key.EMERGENCY, clock.now, clock.now))
    gateway.handle(BatteryReported(BUTTON, clock.now, 80))
    [item] = gateway.outbox.due(clock.now)
    clock.now += 4.0

    got = scrape(metrics)
    assert got[("eldercare_gateway_outbox_depth", (("channel", "alarm"),))] == 1
    assert got[("eldercare_gateway_outbox_oldest_age_seconds", (("channel", "alarm"),))] == 4.0
    assert got[("eldercare_gateway_alarms_raised_total", ())] == 1
    assert got[("eldercare_gateway_devices", (("state", "ok"),))] == 1
    assert got[("eldercare_gateway_devices", (("state", "unknown"),))] == 1

    now = datetime.fromtimestamp(clock.now, UTC)
    receipt = ReceiptMessage(gateway_id="gw-1", gateway_time=now, body=ReceiptBody(ref_id=item.id))
    gateway.handle(receipt)
    got = scrape(metrics)
    assert ("eldercare_gateway_outbox_depth", (("channel", "alarm"),)) not in got
    assert got[("eldercare_gateway_alarm_delivery_seconds_count", ())] == 1
    assert got[("eldercare_gateway_alarm_delivery_seconds_sum", ())] == 4.0


def test_served_on_a_local_port(tmp_path: Path) -> None:
    gateway = Gateway("gw-1", "home-1", Outbox(tmp_path / "o.sqlite3"))
    metrics = GatewayMetrics()
    metrics.watch(gateway)
    port = free_port()
    metrics.serve("127.0.0.1", port)
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    assert "eldercare_gateway_alarms_raised_total 0.0" in response.text


def test_telemetry_backlog_fill_and_thinning(tmp_path: Path) -> None:
    gateway = Gateway("gw-1", "home-1", Outbox(tmp_path / "o.sqlite3"))
    backlog = TelemetryBacklog(tmp_path / "backlog.sqlite3", quota_bytes=250)
    metrics = GatewayMetrics()
    metrics.watch(gateway, backlog=backlog)
    for _ in range(3):
        backlog.keep("telemetry", b"x" * 100)  # the third pushes the first out

    got = scrape(metrics)

    assert got[("eldercare_gateway_telemetry_backlog_messages", ())] == 2
    assert got[("eldercare_gateway_telemetry_backlog_bytes", ())] == 200
    assert got[("eldercare_gateway_telemetry_backlog_quota_bytes", ())] == 250
    assert got[("eldercare_gateway_telemetry_thinned_total", ())] == 1
    backlog.close()


def test_no_backlog_gauges_without_a_quota(tmp_path: Path) -> None:
    gateway = Gateway("gw-1", "home-1", Outbox(tmp_path / "o.sqlite3"))
    metrics = GatewayMetrics()
    metrics.watch(gateway)
    assert not [k for k in scrape(metrics) if "telemetry_backlog" in k[0]]


def test_which_centres_are_reached_and_whether_the_home_was_told(tmp_path: Path) -> None:
    clock = Clock()
    gateway = Gateway("gw-1", "home-1", Outbox(tmp_path / "o.sqlite3"), clock=clock)
    uplink = StubUplink()
    gateway.uplink = uplink  # type: ignore[assignment]
    metrics = GatewayMetrics()
    metrics.watch(gateway)
    got = scrape(metrics)
    assert got[("eldercare_gateway_centre_connected", (("centre", "primary"),))] == 1
    assert ("eldercare_gateway_backup_in_use", ()) not in got  # no backup configured

    uplink.centre_links = CentreLinks(
        refusal="Not authorized",
        backup_configured=True,
        backup_in_use=True,
        backup_engagements=1,
        backup_receipts=2,
    )
    gateway._check_delivery()  # refused: the backup has its chance to connect first
    assert scrape(metrics)[("eldercare_gateway_not_delivered", ())] == 0
    clock.now += BACKUP_CHANCE_S
    gateway._check_delivery()  # the backup not reached in that time: the home is told
    got = scrape(metrics)
    assert got[("eldercare_gateway_centre_connected", (("centre", "primary"),))] == 0
    assert got[("eldercare_gateway_centre_connected", (("centre", "backup"),))] == 0
    assert got[("eldercare_gateway_centre_refused", ())] == 1
    assert got[("eldercare_gateway_not_delivered", ())] == 1
    assert got[("eldercare_gateway_backup_in_use", ())] == 1
    assert got[("eldercare_gateway_backup_engagements_total", ())] == 1
    assert got[("eldercare_gateway_backup_receipts_total", ())] == 2
