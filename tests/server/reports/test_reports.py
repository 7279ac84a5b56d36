"""Reports on constructed alarms in a real store (SQLite and PostgreSQL), and the API's JSON
and CSV with its role check."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.centre import Centre
from server.core.config import ServerSettings
from server.crud.users import create_user
from server.db.dispatch_models import AlarmAction, ServiceOrder
from server.db.models import Alarm
from server.main import create_app
from server.reports.report import build_report
from tests.server.care_seed import T0, District, seed_district
from tests.server.test_api import PASSWORD, login

S = timedelta(seconds=1)
END = T0 + timedelta(days=1)


def alarm(
    n: int,
    d: District,
    kind: str,
    *,
    ack_s: int | None = None,
    scene_s: int | None = None,
    outcome: str | None = None,
    resolved_s: int | None = None,
    at: datetime = T0,
    organisation_id: int | None = None,
) -> list[object]:
    row = Alarm(
        id=f"a{n}",
        gateway_id=d.gateway_id,
        home_id=d.home_id,
        device_id="dev-1",
        kind=kind,
        priority=0,
        gateway_time=at,
        received_at=at,
        status="resolved" if outcome else "open",
        acknowledged_at=None if ack_s is None else at + ack_s * S,
        message={},
        state="resolved" if outcome else "raised",
        outcome=outcome,
        resolved_at=None if resolved_s is None else at + resolved_s * S,
        organisation_id=organisation_id or d.community_id,
    )
    rows: list[object] = [row]
    if scene_s is not None:
        rows.append(
            AlarmAction(
                alarm_id=row.id, action="on_scene", actor="x", at=at + scene_s * S, detail={}
            )
        )
    return rows


def seed(centre: Centre) -> District:
    with centre.sessions.begin() as session:
        d = seed_district(session)
        rows = [
            *alarm(1, d, "fall", ack_s=20, scene_s=600, outcome="real_emergency"),
            *alarm(2, d, "fall", ack_s=90, scene_s=1500, outcome="false_alarm"),
            *alarm(3, d, "emergency_call", ack_s=200, outcome="false_alarm"),
            *alarm(4, d, "gateway_offline", ack_s=30, outcome="cancelled", resolved_s=3 * 3600),
            *alarm(5, d, "fall", ack_s=5, at=T0 - timedelta(days=2)),  # before the period
        ]
        session.add_all(r for r in rows if isinstance(r, Alarm))
        session.flush()  # the alarms before their history (no ORM relationship orders them)
        session.add_all(r for r in rows if not isinstance(r, Alarm))
        for n, state in enumerate(("completed", "completed", "requested")):
            session.add(
                ServiceOrder(
                    home_id=d.home_id,
                    organisation_id=d.community_id,
                    service="meals",
                    state=state,
                    created_at=T0,
                    updated_at=T0,
                    completed_at=T0 + n * S if state == "completed" else None,
                )
            )
        return d


def test_report_on_constructed_alarms(store_centre: Centre) -> None:
    d = seed(store_centre)
    with store_centre.sessions() as session:
        report = build_report(session, d.city_id, T0, END)  # the city covers its community
    assert report.alarms == 4
    assert report.alarms_by_kind == {"emergency_call": 1, "fall": 2, "gateway_offline": 1}
    ack = report.time_to_acknowledge
    assert (ack.count, ack.p50_s, ack.p90_s) == (4, 30.0, 200.0)
    assert (ack.within_60s, ack.within_180s) == (2 / 4, 3 / 4)
    scene = report.time_to_on_scene
    assert (scene.count, scene.p50_s, scene.p90_s) == (2, 600.0, 1500.0)
    assert report.false_alarm_share == 2 / 4
    assert report.service_orders_completed == 2
    gateways = report.gateway_availability
    assert (gateways.sources, gateways.outages, gateways.down_s) == (1, 1, 3 * 3600)
    assert gateways.share_up == pytest.approx(1 - 3 / 24)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServerSettings(
        data_dir=tmp_path, mqtt_enabled=False, admin_password=PASSWORD, dispatch_tick_s=60
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_reports_api_json_csv_and_roles(client: TestClient) -> None:
    centre: Centre = client.app.state.centre  # type: ignore[attr-defined]
    d = seed(centre)
    with centre.sessions.begin() as session:
        create_user(session, "op", PASSWORD, "operator", T0)
    admin = login(client)
    query = {"org": d.community_id, "from": T0.isoformat(), "to": END.isoformat()}
    got = client.get("/api/reports", params=query, headers=admin)
    assert got.status_code == 200, got.text
    assert got.json()["alarms_by_kind"]["fall"] == 2
    assert got.json()["time_to_acknowledge"]["within_60s"] == 0.5
    as_csv = client.get("/api/reports", params={**query, "format": "csv"}, headers=admin)
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = {
        (r["section"], r["metric"]): r["value"] for r in csv.DictReader(io.StringIO(as_csv.text))
    }
    assert rows[("alarms_by_kind", "fall")] == "2"
    assert rows[("time_to_acknowledge", "p90_s")] == "200"
    assert rows[("report", "service_orders_completed")] == "2"
    operator = login(client, "op", PASSWORD)
    assert client.get("/api/reports", params=query, headers=operator).status_code == 403
    assert client.get("/api/reports", params=query).status_code == 401
    naive = {**query, "from": "2026-01-01T00:00:00"}
    assert client.get("/api/reports", params=naive, headers=admin).status_code == 422
    assert (
        client.get("/api/reports", params={**query, "org": 999}, headers=admin).status_code == 404
    )
