"""/api/metrics: Prometheus text behind the console's login, counting what ingest saw."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from protocol import encode
from protocol.mqtt import BrokerEndpoint
from server.core.config import ServerSettings
from server.ingest.broker import BrokerLink
from server.main import create_app
from tests.factories import alarm_message
from tests.server.test_api import PASSWORD, login
from tests.server.test_ingest_lanes import message as uplink


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServerSettings(data_dir=tmp_path, mqtt_enabled=False, admin_password=PASSWORD)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_need_a_login(client: TestClient) -> None:
    assert client.get("/api/metrics").status_code == 401


def test_metrics_count_ingest_rejections_duplicates_and_open_alarms(client: TestClient) -> None:
    handler = client.app.state.centre.handler  # type: ignore[attr-defined]
    message = alarm_message("gw-1", device_id="btn")
    handler.handle("eldercare/v1/gw-1/up/alarm", encode(message))
    handler.handle("eldercare/v1/gw-1/up/alarm", encode(message))  # a resend
    handler.handle("eldercare/v1/gw-1/up/alarm", b"{not json")

    response = client.get("/api/metrics", headers=login(client))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)
    assert got[("eldercare_ingest_messages_total", (("type", "alarm"),))] == 2
    assert got[("eldercare_ingest_duplicate_alarms_total", ())] == 1
    rejected = [(k[1], v) for k, v in got.items() if k[0] == "eldercare_ingest_rejected_total"]
    assert rejected == [((("reason", "not_json"),), 1)]
    assert got[("eldercare_alarms", (("state", "raised"),))] == 1
    assert got[("eldercare_alarm_latency_seconds_count", ())] == 1  # the new alarm only
    assert got[("eldercare_store_up", ())] == 1
    assert got[("eldercare_telemetry_queue_points", ())] == 0
    assert ("eldercare_telemetry_batch_seconds_bucket", (("le", "+Inf"),)) in got


def test_metrics_show_what_waits_in_each_ingest_lane(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A link whose lanes are not started: what it receives stays queued, as behind a slow store.
    centre = client.app.state.centre  # type: ignore[attr-defined]
    endpoint = BrokerEndpoint("127.0.0.1", 1, "server", "x")
    link = BrokerLink(endpoint, "1", centre.handler, centre.hub)
    monkeypatch.setattr(centre, "broker", link)
    for i in range(3):
        link._on_message(None, None, uplink("status", b"%d" % i))  # type: ignore[arg-type]
    link._on_message(None, None, uplink("alarm", b"help"))  # type: ignore[arg-type]

    got = samples(client.get("/api/metrics", headers=login(client)).text)

    assert got[("eldercare_ingest_queue_messages", (("lane", "alarm"),))] == 1
    assert got[("eldercare_ingest_queue_messages", (("lane", "routine"),))] == 3
    assert got[("eldercare_ingest_routine_dropped_total", ())] == 0
