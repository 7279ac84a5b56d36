"""The notifier's view of the stored channels: read once into a cache, re-read when this
process invalidates it or when the refresh time has passed (another process's change), and
the default MQTT topic replaced by a stored MQTT channel, enabled or not."""

from __future__ import annotations

from datetime import UTC, datetime

from server.centre import Centre
from server.db.notify_models import NotificationChannel
from server.notify.channels import MqttChannel, WebhookChannel, responder_account
from server.notify.stored_channels import StoredDirectory
from tests.server.care_seed import District, seed_district

AT = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def seeded(centre: Centre) -> District:
    with centre.sessions.begin() as session:
        return seed_district(session)


def add_channel(centre: Centre, responder_id: int, kind: str, **values: object) -> int:
    """As another server process would: straight into the table."""
    with centre.sessions.begin() as session:
        row = NotificationChannel(
            responder_id=responder_id,
            kind=kind,
            adapter="generic",
            created_at=AT,
            updated_at=AT,
            **values,
        )
        session.add(row)
        session.flush()
        return row.id


def test_cache_is_reread_on_invalidation_or_after_the_refresh_time(centre: Centre) -> None:
    worker = seeded(centre).worker_ids[0]
    clock = Clock()
    directory = StoredDirectory(centre.sessions, mqtt_for_all=False, refresh_s=30, monotonic=clock)
    assert directory.channels_for(worker) == []
    hook = add_channel(centre, worker, "webhook", url="https://h.example/", secret="s" * 16)
    clock.now = 29.0
    assert directory.channels_for(worker) == []  # still the cached read
    clock.now = 30.0
    assert directory.channels_for(worker) == [
        WebhookChannel("https://h.example/", "s" * 16, "generic", hook)
    ]
    with centre.sessions.begin() as session:
        row = session.get(NotificationChannel, hook)
        assert row is not None
        row.enabled = False
    assert len(directory.channels_for(worker)) == 1
    directory.invalidate()
    assert directory.channels_for(worker) == []


def test_stored_mqtt_channel_replaces_the_default(centre: Centre) -> None:
    near, far = seeded(centre).worker_ids
    directory = StoredDirectory(centre.sessions, mqtt_for_all=True)
    assert directory.channels_for(near) == [MqttChannel(responder_account(near))]
    mqtt = add_channel(centre, near, "mqtt")
    add_channel(centre, far, "mqtt", enabled=False)
    directory.invalidate()
    assert directory.channels_for(near) == [MqttChannel(responder_account(near), mqtt)]
    assert directory.channels_for(far) == []  # switched off by its disabled channel
