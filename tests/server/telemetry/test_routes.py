"""GET /api/telemetry/*: the running app on each backend, points in through the ingest handler."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from onebox.influx import InfluxServer
from protocol import TelemetryBody, TelemetryMessage, encode
from server.centre import Centre
from server.core.config import ServerSettings
from server.crud.users import create_user
from server.main import create_app

PASSWORD = "correct horse battery staple"


@pytest.fixture(params=["embedded", "influxdb"])
def client(
    request: pytest.FixtureRequest, tmp_path: Path, influx: InfluxServer
) -> Iterator[TestClient]:
    settings = ServerSettings(
        data_dir=tmp_path,
        mqtt_enabled=False,
        admin_password=PASSWORD,
        telemetry_backend=request.param,
        influx_url=influx.url,
        influx_database=f"routes_{tmp_path.name[-8:].replace('-', '_')}",
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def bearer(client: TestClient, username: str = "operator") -> dict[str, str]:
    response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def centre_of(client: TestClient) -> Centre:
    centre: Centre = client.app.state.centre  # type: ignore[attr-defined]
    return centre


def ingest(client: TestClient, base: datetime, count: int) -> None:
    centre = centre_of(client)
    for i in range(count):
        message = TelemetryMessage(
            gateway_id="gw-1",
            device_id="bed-1",
            gateway_time=base + timedelta(seconds=10 * i),
            body=TelemetryBody(measurement="vitals", fields={"heart_rate": 60 + i % 3}),
        )
        centre.handler.handle("eldercare/v1/gw-1/up/telemetry", encode(message))
    assert centre.telemetry.flush(timeout_s=20)


@pytest.mark.parametrize(
    "path",
    [
        "/api/telemetry/series?gateway_id=gw-1&measurement=m&field=f&start=2026-01-01T00:00:00Z",
        "/api/telemetry/latest?measurement=m&field=f",
        "/api/telemetry/writer",
    ],
)
def test_telemetry_routes_need_a_login(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401


def test_a_chart_and_the_latest_values(client: TestClient, base_time: datetime) -> None:
    ingest(client, base_time, 360)  # one hour, every 10 s
    headers = bearer(client)
    params = {
        "gateway_id": "gw-1",
        "device_id": "bed-1",
        "measurement": "vitals",
        "field": "heart_rate",
        "start": base_time.isoformat(),
        "end": (base_time + timedelta(hours=1)).isoformat(),
        "max_points": "12",
    }
    response = client.get("/api/telemetry/series", params=params, headers=headers)
    assert response.status_code == 200, response.text
    chart = response.json()
    assert chart["bucket_s"] == 300
    assert len(chart["points"]) == 12
    assert {round(p["mean"], 6) for p in chart["points"]} == {61.0}

    latest = client.get(
        "/api/telemetry/latest",
        params={"measurement": "vitals", "field": "heart_rate"},
        headers=headers,
    ).json()
    last = base_time + timedelta(seconds=3590)
    assert [(v["gateway_id"], v["device_id"], v["value"]) for v in latest] == [
        ("gw-1", "bed-1", 60 + 359 % 3)
    ]
    assert datetime.fromisoformat(latest[0]["time"]) == last

    stats = client.get("/api/telemetry/writer", headers=headers).json()
    assert stats["written"] == 360
    assert stats["dropped"] == {}


def test_bad_ranges_are_client_errors(client: TestClient) -> None:
    headers = bearer(client)
    base = {"gateway_id": "gw-1", "measurement": "m", "field": "f"}
    naive = client.get(
        "/api/telemetry/series", params={**base, "start": "2026-01-01T00:00:00"}, headers=headers
    )
    assert naive.status_code == 422
    backwards = client.get(
        "/api/telemetry/series",
        params={**base, "start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        headers=headers,
    )
    assert backwards.status_code == 422


def test_writer_counters_are_for_supervisors(client: TestClient) -> None:
    centre = centre_of(client)
    with centre.sessions.begin() as session:
        create_user(session, "olga", PASSWORD, "operator", datetime.now().astimezone())
    assert client.get("/api/telemetry/writer", headers=bearer(client, "olga")).status_code == 403
