"""The durable outbox: what is added survives a reopen; only a receipt takes it out."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import OutboxError
from gateway.outbox import Outbox


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite3")


def test_added_message_survives_reopen_until_confirmed(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    first = Outbox(path)
    first.add("a" * 32, "alarm", b"payload", 100.0, device_id="btn", frame_seq=3, occurred_at=99.5)
    first.close()  # as good as a crash: every add is its own committed transaction

    reopened = Outbox(path)
    [item] = reopened.due(100.0)
    assert (item.id, item.payload, item.device_id, item.frame_seq) == (
        "a" * 32,
        b"payload",
        "btn",
        3,
    )
    assert reopened.confirm("a" * 32, 101.0) is True
    assert reopened.confirm("a" * 32, 102.0) is False  # a repeated receipt changes nothing
    assert reopened.due(1e12) == []
    assert reopened.depth() == 0
    assert reopened.get("a" * 32) is not None  # kept for matching the operator's answer


def test_resend_is_scheduled_and_reconnect_makes_everything_due(outbox: Outbox) -> None:
    outbox.add("1" * 32, "alarm", b"one", 10.0)
    outbox.add("2" * 32, "alarm", b"two", 11.0)
    assert [i.id for i in outbox.due(11.0)] == ["1" * 32, "2" * 32]  # oldest first
    outbox.attempted("1" * 32, next_attempt_at=21.0)
    outbox.attempted("2" * 32, next_attempt_at=22.0)
    assert outbox.due(20.0) == []
    assert outbox.next_due_at() == 21.0
    assert [i.attempts for i in outbox.due(22.0)] == [1, 1]
    outbox.retry_all_now(15.0)
    assert [i.id for i in outbox.due(15.0)] == ["1" * 32, "2" * 32]


def test_find_press_matches_retransmission_not_a_new_press_with_a_reused_seq(
    outbox: Outbox,
) -> None:
    outbox.add("1" * 32, "alarm", b"x", 1000.0, device_id="btn", frame_seq=4, occurred_at=999.9)
    repeat = outbox.find_press("btn", 4, 1000.3, tolerance_s=2.0)
    assert repeat is not None
    assert repeat.id == "1" * 32
    # The device restarted and counts from 1 again: same seq, but pressed a minute later.
    assert outbox.find_press("btn", 4, 1060.0, tolerance_s=2.0) is None
    assert outbox.find_press("other", 4, 1000.0, tolerance_s=2.0) is None


def test_duplicate_id_is_an_outbox_error(outbox: Outbox) -> None:
    outbox.add("1" * 32, "alarm", b"x", 1.0)
    with pytest.raises(OutboxError):
        outbox.add("1" * 32, "alarm", b"x", 1.0)


def test_unwritable_location_is_an_outbox_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises((OutboxError, OSError)):
        Outbox(blocker / "outbox.sqlite3")


def test_a_clock_jumping_back_neither_delays_nor_reorders_alarms(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    t = 1_800_000_000.0
    outbox.add("a" * 32, "alarm", b"first", t)
    outbox.attempted("a" * 32, t + 10)  # sent once, resend due in 10 s
    # NTP sets the clock back an hour; a new alarm is stored "before" the first.
    back = t - 3600
    outbox.add("b" * 32, "alarm", b"second", back)
    due = outbox.due(back + 1)
    # In stored order, and the resend not an hour late.
    assert [i.id for i in due] == ["a" * 32, "b" * 32]
    # A clock jumping forward only makes resends early, never loses one.
    assert [i.id for i in outbox.due(t + 86_400)] == ["a" * 32, "b" * 32]
