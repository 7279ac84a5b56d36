"""The responder page: served at /responder/, its script calls the dispatch endpoints, and
those endpoints take a responder account through accept, en route, on scene, resolve."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from protocol import AlarmKind
from server.core.config import ServerSettings
from server.main import create_app
from tests.server.test_api import PASSWORD, login
from tests.server.test_dispatch_api import post, raise_alarm, seed


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServerSettings(
        data_dir=tmp_path, mqtt_enabled=False, admin_password=PASSWORD, dispatch_tick_s=60
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_page_loads_and_names_the_endpoints(client: TestClient) -> None:
    page = client.get("/responder/")
    assert page.status_code == 200
    assert 'src="app.js"' in page.text
    assert 'name="viewport"' in page.text  # made for phones
    script = client.get("/responder/app.js").text
    for endpoint in (
        "/auth/login",
        "/auth/me",
        "/alarms?limit=100",
        "/alarms/${a.id}/answer/accept",
        "/alarms/${a.id}/progress/en_route",
        "/alarms/${a.id}/progress/on_scene",
        "/alarms/${a.id}/resolve",
    ):
        assert endpoint in script, endpoint
    assert set(re.findall(r'"(real_emergency|false_alarm|test|cancelled)"', script)) == {
        "real_emergency",
        "false_alarm",
        "test",
        "cancelled",
    }


def test_a_responder_account_walks_its_alarm_to_resolved(client: TestClient) -> None:
    admin = login(client)
    records = seed(client, admin)
    worker = records["workers"][1]["id"]
    account = {"username": "near", "password": PASSWORD, "role": "responder"}
    post(client, "/api/users", admin, {**account, "responder_id": worker}, 201)
    alarm = raise_alarm(client, AlarmKind.FALL)
    post(client, f"/api/alarms/{alarm}/dispatch", admin, {"responder_id": worker})
    me = login(client, "near", PASSWORD)
    assert client.get("/api/auth/me", headers=me).json()["responder_id"] == worker
    # What the page does, call by call.
    listed = client.get("/api/alarms?limit=100", headers=me).json()
    assert [(a["id"], a["state"], a["responder_id"]) for a in listed] == [
        (alarm, "dispatched", worker)
    ]
    post(client, f"/api/alarms/{alarm}/answer/accept", me, {"responder_id": worker})
    post(client, f"/api/alarms/{alarm}/progress/en_route", me, None)
    post(client, f"/api/alarms/{alarm}/progress/on_scene", me, None)
    done = post(client, f"/api/alarms/{alarm}/resolve", me, {"outcome": "false_alarm"})
    assert (done["state"], done["outcome"]) == ("resolved", "false_alarm")
