"""Notification channels through the API, on SQLite and PostgreSQL: who may configure and
read them, secrets that go in and never come out (answers, errors, logs), and a dispatch
whose webhook reaches a real HTTP receiver signed and leaves one record per attempt."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from onebox.net import wait_for
from protocol import encode
from server.centre import Centre
from server.core.config import ServerSettings
from server.crud.users import create_user
from server.db.notify_models import NotificationChannel
from server.main import create_app
from tests.factories import alarm_message
from tests.server.care_seed import District, seed_district
from tests.server.notify.receiver import receiver
from tests.server.test_api import PASSWORD, login

SECRET = "hook-secret-for-tests-0123456789"
PROVIDER_KEY = "provider-key"  # in the receiver's URL query string


@dataclass
class Rig:
    client: TestClient
    centre: Centre
    district: District
    admin: dict[str, str]
    accounts: list[str] = field(default_factory=list)

    def as_role(self, role: str) -> dict[str, str]:
        username = f"{role}-{len(self.accounts)}"  # the first admin is called "operator"
        self.accounts.append(username)
        with self.centre.sessions.begin() as session:
            create_user(session, username, f"{role}-password", role, datetime.now(UTC))
        return login(self.client, username, f"{role}-password")

    def webhook(self, url: str, **extra: Any) -> dict[str, Any]:
        body = {
            "responder_id": self.district.worker_ids[0],
            "kind": "webhook",
            "adapter": "sms",
            "url": url,
            "secret": SECRET,
            **extra,
        }
        response = self.client.post("/api/notification-channels", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        assert_no_secret(response.text)
        created: dict[str, Any] = response.json()
        return created


@pytest.fixture
def rig(tmp_path: Path, store_url: str | None) -> Iterator[Rig]:
    settings = ServerSettings(
        data_dir=tmp_path,
        mqtt_enabled=False,
        admin_password=PASSWORD,
        database_url=store_url,
        dispatch_tick_s=60,  # the test dispatches by hand
    )
    with TestClient(create_app(settings)) as client:
        centre: Centre = client.app.state.centre  # type: ignore[attr-defined]
        with centre.sessions.begin() as session:
            district = seed_district(session)
        yield Rig(client, centre, district, login(client))


def stored_secret(rig: Rig, channel_id: int) -> str:
    """The channel's secret as the table holds it (never the plain text), opened."""
    with rig.centre.sessions() as session:
        row = session.get(NotificationChannel, channel_id)
        assert row is not None
    assert row.secret is not None
    assert SECRET not in row.secret
    assert SECRET[::-1] not in row.secret
    return rig.centre.secrets.open(row.secret)


def assert_no_secret(text: str) -> None:
    assert SECRET not in text
    assert PROVIDER_KEY not in text


def test_roles_and_write_only_secrets(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"https://sms.example/hooks/eldercare?key={PROVIDER_KEY}"
    created = rig.webhook(url, label="SMS")
    assert created["target"] == "https://sms.example/…"  # the path may hold the key
    assert (created["has_secret"], created["enabled"], created["adapter"]) == (True, True, "sms")
    assert stored_secret(rig, created["id"]) == SECRET  # sealed in the table, opened here

    operator, supervisor = rig.as_role("operator"), rig.as_role("supervisor")
    mqtt = {"responder_id": rig.district.worker_ids[1], "kind": "mqtt"}
    for who in (operator, supervisor):
        refused = rig.client.post("/api/notification-channels", json=mqtt, headers=who)
        assert refused.status_code == 403
        change = {"enabled": False}
        path = f"/api/notification-channels/{created['id']}"
        assert rig.client.patch(path, json=change, headers=who).status_code == 403
    assert rig.client.get("/api/notification-channels", headers=operator).status_code == 403
    assert rig.client.get("/api/notification-deliveries", headers=operator).status_code == 403
    listed = rig.client.get("/api/notification-channels", headers=supervisor)
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["items"]] == [created["id"]]
    one = rig.client.get(f"/api/notification-channels/{created['id']}", headers=rig.admin)
    for answer in (listed, one):
        assert_no_secret(answer.text)
        assert "secret" not in answer.json().get("items", [answer.json()])[0]

    # A request with a mistake is answered 422 without echoing what it carried.
    missing_responder = {"kind": "webhook", "url": url, "secret": SECRET}
    short = {**missing_responder, "responder_id": 1, "secret": "k3y-9Zq"}
    for wrong in (missing_responder, short):
        answer = rig.client.post("/api/notification-channels", json=wrong, headers=rig.admin)
        assert answer.status_code == 422
        assert_no_secret(answer.text)
        assert "k3y-9Zq" not in answer.text

    rotated = rig.client.patch(
        f"/api/notification-channels/{created['id']}",
        json={"secret": SECRET[::-1], "enabled": False},
        headers=rig.admin,
    )
    assert rotated.status_code == 200
    assert rotated.json()["enabled"] is False
    assert SECRET[::-1] not in rotated.text
    assert stored_secret(rig, created["id"]) == SECRET[::-1]
    audit = rig.client.get("/api/audit?entity=notification_channel", headers=rig.admin)
    assert audit.status_code == 200
    assert_no_secret(audit.text)
    assert_no_secret(caplog.text)
    assert SECRET[::-1] not in caplog.text


def test_mqtt_channel_takes_no_url(rig: Rig) -> None:
    mqtt = {"responder_id": rig.district.worker_ids[1], "kind": "mqtt"}
    made = rig.client.post("/api/notification-channels", json=mqtt, headers=rig.admin)
    assert made.status_code == 201
    assert (made.json()["target"], made.json()["has_secret"]) == (None, False)
    path = f"/api/notification-channels/{made.json()['id']}"
    assert (
        rig.client.patch(path, json={"url": "https://x.example/"}, headers=rig.admin).status_code
        == 409
    )
    with_secret = {**mqtt, "secret": SECRET}
    answer = rig.client.post("/api/notification-channels", json=with_secret, headers=rig.admin)
    assert answer.status_code == 422
    assert_no_secret(answer.text)


def test_dispatch_webhook_signed_and_every_attempt_recorded(rig: Rig) -> None:
    worker = rig.district.worker_ids[0]
    with receiver([503]) as hook:  # the first attempt fails, the retry gets through
        channel = rig.webhook(hook.url)
        message = alarm_message(rig.district.gateway_id, device_id="btn")
        rig.centre.handler.handle(
            f"eldercare/v1/{rig.district.gateway_id}/up/alarm", encode(message)
        )
        dispatched = rig.client.post(
            f"/api/alarms/{message.id}/dispatch", json={"responder_id": worker}, headers=rig.admin
        )
        assert dispatched.status_code == 200, dispatched.text
        path = f"/api/alarms/{message.id}/deliveries"

        def attempts() -> list[dict[str, Any]]:
            answer = rig.client.get(path, headers=rig.admin)
            assert answer.status_code == 200, answer.text
            found: list[dict[str, Any]] = answer.json()
            return found

        wait_for(lambda: len(attempts()) == 2, 15, "two delivery attempts recorded")
        assert hook.count() == 2
        assert all(got.signed_with(SECRET) for got in hook.requests)
    first, second = attempts()
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in (first, second)] == [
        (1, "retrying", 503),
        (2, "delivered", 200),
    ]
    assert {a["channel_id"] for a in (first, second)} == {channel["id"]}
    assert second["channel"] == "webhook:sms"
    assert second["responder_id"] == worker
    assert second["notification_id"] == f"{message.id}/{worker}/1"
    assert_no_secret(rig.client.get(path, headers=rig.admin).text)
    listed = rig.client.get(
        f"/api/notification-deliveries?alarm_id={message.id}", headers=rig.as_role("supervisor")
    )
    assert listed.status_code == 200
    assert listed.json()["total"] == 2


def test_a_webhook_url_with_a_port_no_socket_has_is_refused_not_stored(rig: Rig) -> None:
    """A typo in the port used to pass the URL check, be stored, and then break every answer
    that shows the channel (500, the list for all channels too) and every call of it."""
    worker = rig.district.worker_ids[0]
    for url in ("https://sms.example:99999/hook", "https://sms.example:8o8o/hook"):
        body = {"responder_id": worker, "kind": "webhook", "url": url, "secret": SECRET}
        answer = rig.client.post("/api/notification-channels", json=body, headers=rig.admin)
        assert answer.status_code == 422, answer.text
        assert "sms.example" not in answer.text  # the URL is write-only, also in a 422
    listed = rig.client.get("/api/notification-channels", headers=rig.admin)
    assert listed.status_code == 200
    assert listed.json()["total"] == 0
    made = rig.webhook("https://sms.example:8443/hook")
    assert made["target"] == "https://sms.example:8443/…"
    path = f"/api/notification-channels/{made['id']}"
    bad_port = {"url": "https://sms.example:0x1F/hook"}
    assert rig.client.patch(path, json=bad_port, headers=rig.admin).status_code == 422
