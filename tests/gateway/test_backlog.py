"""The telemetry backlog: bounded by bytes, thinned oldest first, kept across a restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway import OutboxError
from gateway.backlog import TelemetryBacklog


def _payload(n: int, size: int = 100) -> bytes:
    return f"{n:08d}".encode().ljust(size, b".")


def test_oldest_are_thinned_to_stay_within_the_quota(tmp_path: Path) -> None:
    backlog = TelemetryBacklog(tmp_path / "b.sqlite3", quota_bytes=1000)
    for n in range(25):
        backlog.keep("telemetry", _payload(n))
    assert backlog.size_bytes <= 1000
    assert backlog.depth == 10
    assert backlog.thinned == 15
    kept = backlog.oldest(100)
    assert [k.payload for k in kept] == [_payload(n) for n in range(15, 25)]  # the newest


def test_sent_messages_leave_and_the_rest_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    backlog = TelemetryBacklog(path, quota_bytes=10_000)
    for n in range(5):
        backlog.keep("event" if n % 2 else "telemetry", _payload(n))
    for kept in backlog.oldest(2):
        backlog.sent(kept)
    backlog.close()

    again = TelemetryBacklog(path, quota_bytes=10_000)
    assert again.depth == 3
    assert again.size_bytes == 300
    assert [(k.channel, k.payload) for k in again.oldest(10)] == [
        ("telemetry", _payload(2)),
        ("event", _payload(3)),
        ("telemetry", _payload(4)),
    ]


def test_a_message_larger_than_the_quota_is_thinned_alone(tmp_path: Path) -> None:
    backlog = TelemetryBacklog(tmp_path / "b.sqlite3", quota_bytes=150)
    backlog.keep("telemetry", _payload(1))
    backlog.keep("telemetry", _payload(2, size=500))
    assert backlog.depth == 1
    assert backlog.thinned == 1


def test_negative_quota_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="quota"):
        TelemetryBacklog(tmp_path / "b.sqlite3", quota_bytes=-1)


def test_sent_many_removes_a_window_and_keeps_the_totals(tmp_path: Path) -> None:
    backlog = TelemetryBacklog(tmp_path / "b.sqlite3", quota_bytes=10_000)
    for n in range(6):
        backlog.keep("telemetry", _payload(n, size=100 + n))
    window = backlog.oldest(4)
    backlog.sent_many(window)
    backlog.sent_many(window[:2])  # a receipt seen twice removes nothing more
    backlog.sent_many([])
    assert backlog.depth == 2
    assert backlog.size_bytes == 104 + 105
    assert [k.payload for k in backlog.oldest(10)] == [_payload(4, 104), _payload(5, 105)]


def test_a_failed_sent_many_removes_none_and_keeps_the_totals(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    backlog = TelemetryBacklog(path, quota_bytes=10_000)
    for n in range(5):
        backlog.keep("telemetry", _payload(n))
    window = backlog.oldest(5)
    # The disk refuses the fourth delete, after three went through in the same transaction.
    with sqlite3.connect(path) as other:
        other.execute(
            f"CREATE TRIGGER refuse BEFORE DELETE ON backlog WHEN OLD.seq = {window[3].seq} "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )
    with pytest.raises(OutboxError, match="disk I/O error"):
        backlog.sent_many(window)
    assert (backlog.depth, backlog.size_bytes) == (5, 500)
    assert [k.seq for k in backlog.oldest(10)] == [k.seq for k in window]
    with sqlite3.connect(path) as other:
        other.execute("DROP TRIGGER refuse")
    backlog.sent_many(window[:2])
    assert (backlog.depth, backlog.size_bytes) == (3, 300)
