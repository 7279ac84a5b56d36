"""The notifier's view of the stored channels: read once into a cache, re-read when this
process invalidates it or when the channels' version moved (another process's change, seen
on the first call after the one-second throttle), backing off while the store cannot answer,
and the default MQTT topic replaced by a stored MQTT channel, enabled or not."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, text

from server.centre import Centre
from server.crud import notify
from server.db.engine import make_engine, session_factory
from server.db.notify_models import NotificationChannel
from server.notify.channels import MqttChannel, WebhookChannel, responder_account
from server.notify.stored_channels import CHECK_S, StoredDirectory
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


def test_cache_is_reread_on_invalidation_or_when_the_version_moved(centre: Centre) -> None:
    worker = seeded(centre).worker_ids[0]
    clock = Clock()
    directory = StoredDirectory(
        centre.sessions, centre.secrets, mqtt_for_all=False, monotonic=clock
    )
    assert directory.channels_for(worker) == []
    # Straight into the table without moving the version: not seen, however long it waits.
    sealed = centre.secrets.seal("s" * 16)
    hook = add_channel(centre, worker, "webhook", url="https://h.example/", secret=sealed)
    clock.now = 3600.0
    assert directory.channels_for(worker) == []
    directory.invalidate()
    assert directory.channels_for(worker) == [
        WebhookChannel("https://h.example/", "s" * 16, "generic", hook)
    ]
    with centre.sessions.begin() as session:
        notify.change_channel(session, hook, {"enabled": False}, "admin", AT)
    assert len(directory.channels_for(worker)) == 1  # checked less than a second ago
    clock.now += CHECK_S
    assert directory.channels_for(worker) == []


def test_another_process_sees_an_admin_change_on_its_next_call_after_the_throttle(
    store_centre: Centre,
) -> None:
    """Two directories, each on its own engine, as two server processes on one database."""
    worker = seeded(store_centre).worker_ids[0]
    other_engine = make_engine(store_centre.settings.sqlalchemy_url)
    clock_here, clock_there = Clock(), Clock()
    here = StoredDirectory(
        store_centre.sessions, store_centre.secrets, mqtt_for_all=False, monotonic=clock_here
    )
    there = StoredDirectory(
        session_factory(other_engine),
        store_centre.secrets,
        mqtt_for_all=False,
        monotonic=clock_there,
    )
    assert here.channels_for(worker) == there.channels_for(worker) == []
    with store_centre.sessions.begin() as session:  # as the API does in this process
        hook = notify.create_channel(
            session,
            store_centre.secrets.sealed(
                {
                    "responder_id": worker,
                    "kind": "webhook",
                    "adapter": "sms",
                    "url": "https://s/",
                    "secret": "k" * 16,
                }
            ),
            "admin",
            AT,
        ).id
    here.invalidate()
    expected = [WebhookChannel("https://s/", "k" * 16, "sms", hook)]
    assert here.channels_for(worker) == expected
    clock_there.now = CHECK_S - 0.01
    assert there.channels_for(worker) == []  # within the throttle: the cache as it was
    clock_there.now = CHECK_S
    assert there.channels_for(worker) == expected
    other_engine.dispose()


def test_an_unchanged_version_costs_one_small_read_not_the_table(centre: Centre) -> None:
    worker = seeded(centre).worker_ids[0]
    add_channel(centre, worker, "mqtt")
    clock = Clock()
    directory = StoredDirectory(centre.sessions, centre.secrets, mqtt_for_all=True, monotonic=clock)
    with statements(centre) as seen:
        directory.channels_for(worker)
        assert table_reads(seen) == 1
        for step in range(1, 6):
            clock.now = step * 0.25
            directory.channels_for(worker)
    assert table_reads(seen) == 1
    version_reads = [s for s in seen if "notification_channels_version" in s]
    assert len(version_reads) == 2  # at 0 and at 1.0 s; never between


def test_a_store_that_cannot_answer_is_asked_again_with_backoff_and_one_warning(
    centre: Centre, caplog: pytest.LogCaptureFixture
) -> None:
    near = seeded(centre).worker_ids[0]
    mqtt = add_channel(centre, near, "mqtt")
    clock = Clock()
    directory = StoredDirectory(
        centre.sessions, centre.secrets, mqtt_for_all=True, backoff_cap_s=8.0, monotonic=clock
    )
    known = [MqttChannel(responder_account(near), mqtt)]
    assert directory.channels_for(near) == known
    with centre.engine.begin() as connection:  # the store stops answering
        connection.execute(text(f"ALTER TABLE {VERSION_TABLE} RENAME TO gone"))
    tried_at: list[float] = []
    with statements(centre) as seen, caplog.at_level(logging.INFO):
        for tick in range(0, 400):
            clock.now = 1.0 + tick * 0.1
            before = len(seen)
            assert directory.channels_for(near) == known  # the last channels, meanwhile
            if len(seen) > before:
                tried_at.append(round(clock.now, 1))
        assert tried_at == [1.0, 2.0, 4.0, 8.0, 16.0, 24.0, 32.0, 40.0]
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        with centre.engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE gone RENAME TO {VERSION_TABLE}"))
        clock.now = 48.0
        assert directory.channels_for(near) == known
    assert "read again after 8 failed tries" in caplog.text


VERSION_TABLE = "notification_channels_version"


@contextmanager
def statements(centre: Centre) -> Iterator[list[str]]:
    """The SQL ``centre``'s engine runs meanwhile."""
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(centre.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(centre.engine, "before_cursor_execute", record)


def table_reads(seen: list[str]) -> int:
    return sum(
        "FROM notification_channels " in s or s.endswith("notification_channels") for s in seen
    )


def test_stored_mqtt_channel_replaces_the_default(centre: Centre) -> None:
    near, far = seeded(centre).worker_ids
    directory = StoredDirectory(centre.sessions, centre.secrets, mqtt_for_all=True)
    assert directory.channels_for(near) == [MqttChannel(responder_account(near))]
    mqtt = add_channel(centre, near, "mqtt")
    add_channel(centre, far, "mqtt", enabled=False)
    directory.invalidate()
    assert directory.channels_for(near) == [MqttChannel(responder_account(near), mqtt)]
    assert directory.channels_for(far) == []  # switched off by its disabled channel
