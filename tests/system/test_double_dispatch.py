"""Two dispatch engines (as in two server processes) on one real PostgreSQL: every
escalation step of every alarm is taken once, never twice, while both tick at once."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from onebox.postgres import PostgresCluster
from protocol import AlarmKind
from server.centre import Centre
from server.core.config import ServerSettings
from server.db.engine import migrate
from server.dispatch.notifier import RecordingNotifier
from tests.server.care_seed import T0, seed_district
from tests.server.test_dispatch_engine import raise_alarm

ALARMS = 40
ROUNDS = 9  # four responders asked twice each, then the operator


@pytest.fixture
def two_centres(tmp_path: Path, postgres: PostgresCluster) -> Iterator[list[Centre]]:
    url = postgres.create_database(f"race_{secrets.token_hex(4)}")
    centres = [
        Centre(
            ServerSettings(
                data_dir=tmp_path / name, mqtt_enabled=False, admin_password="x", database_url=url
            ),
            notifier=RecordingNotifier(),
        )
        for name in ("a", "b")
    ]
    migrate(centres[0].engine)
    yield centres
    for centre in centres:
        centre.stop()


def test_two_engines_take_each_step_once(two_centres: list[Centre]) -> None:
    first = two_centres[0]
    with first.sessions.begin() as session:
        seed_district(session, settings={"notify_timeout_s": 60, "notify_attempts": 2})
    ids = {raise_alarm(first, AlarmKind.FALL) for _ in range(ALARMS)}
    steps_by_engine = [0, 0]
    for round_ in range(ROUNDS):
        now = T0 + timedelta(seconds=60 * round_)
        start = threading.Barrier(2)

        def run(index: int, now: datetime = now, start: threading.Barrier = start) -> None:
            start.wait()
            steps_by_engine[index] += two_centres[index].dispatch.tick(now)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sum(steps_by_engine) == ALARMS * (round_ + 1), f"round {round_}"

    calls = [c for centre in two_centres for c in _notifier(centre).calls]
    alerts = [a for centre in two_centres for a in _notifier(centre).alerts]
    # Each alarm: four responders, each notified exactly twice; one operator alert.
    per_call = Counter((c.alarm_id, c.responder_id, c.attempt) for c in calls)
    assert set(per_call.values()) == {1}
    assert Counter(c.alarm_id for c in calls) == dict.fromkeys(ids, 8)
    assert sorted(a.alarm_id for a in alerts) == sorted(ids)
    assert all(steps > 0 for steps in steps_by_engine), steps_by_engine  # both really raced


def _notifier(centre: Centre) -> RecordingNotifier:
    assert isinstance(centre.dispatch.notifier, RecordingNotifier)
    return centre.dispatch.notifier
