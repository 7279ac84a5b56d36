"""Away periods and wall-clock steps in the live gateway's home watch (gateway/homewatch.py):
periods arrive as instants in the home configuration; the check-in is not expected while away;
activity that ends a period is told to the centre; the detectors follow a stepped clock."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from edge.events import Key, KeyPressed, SensorChanged
from gateway import homestate
from gateway.detect.checkin import CheckinConfig
from gateway.detect.home import HomeMonitor
from gateway.detect.inactivity import InactivityDetector, SilenceContext
from gateway.detect.night import NightConfig
from gateway.homewatch import HomeWatch
from gateway.outbox import Outbox
from gateway.service import Gateway
from protocol.home_config import AwayPeriod
from tests.gateway.stubs import Clock
from tests.gateway.test_homewatch import BUTTON, HALL_PIR, at, home_gateway, run_until, sent

CHECKIN = CheckinConfig(due=time(10, 0))


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def go_away(gateway: Gateway, start: str, end: str) -> None:
    """What the reconfigurer does with a configuration holding one away period."""
    gateway.home.reconfigure(
        rooms=gateway.rooms,
        local=lambda t: t,
        checkin=CHECKIN,
        night=NightConfig(),
        away=[AwayPeriod(start=instant(start), end=instant(end), note="at her daughter's")],
    )


def kinds(gateway: Gateway, clock: Clock) -> list[tuple[str, str]]:
    return [(m.type, m.body.kind) for m in sent(gateway, clock)]


def test_while_away_no_prompt_no_inactivity_and_no_checkin(tmp_path: Path) -> None:
    gateway, link, clock = home_gateway(tmp_path, "2026-11-23 08:00:00", checkin=CHECKIN)
    gateway.handle(SensorChanged(HALL_PIR, clock.now, "motion", 1))
    go_away(gateway, "2026-11-23 08:30:00", "2026-11-26 20:00:00")
    run_until(gateway, clock, at("2026-11-27 09:00:00"), step=300)  # and back a day late
    assert kinds(gateway, clock) == []
    assert link.sent == []  # no pre-warning, no check-in reminder


def test_a_press_while_away_ends_it_tells_the_centre_and_the_checkin_is_due_again(
    tmp_path: Path,
) -> None:
    gateway, _, clock = home_gateway(tmp_path, "2026-11-23 08:00:00", checkin=CHECKIN)
    gateway.home.tick()
    go_away(gateway, "2026-11-23 08:30:00", "2026-11-30 20:00:00")
    run_until(gateway, clock, at("2026-11-24 18:00:00"), step=300)
    gateway.handle(KeyPressed(BUTTON, Key.SERVICE, clock.now, clock.now, frame_seq=3))
    [ended] = [m for m in sent(gateway, clock) if m.body.kind == "away_ended"]
    assert ended.type == "event"
    assert ended.body.detail["until"] == "2026-11-30 20:00:00"
    run_until(gateway, clock, at("2026-11-25 10:20:00"), step=300)
    assert ("alarm", "missed_checkin") in kinds(gateway, clock)  # back home: expected again


def moved_at_noon(tmp_path: Path) -> tuple[HomeWatch, Clock, Clock]:
    """A booted home watch on a wall clock and a monotonic clock, the hall PIR seen at
    noon."""
    wall, mono = Clock(at("2026-11-23 12:00:00")), Clock(1000.0)
    watch = HomeWatch(
        "gw-1",
        "home-1",
        Outbox(tmp_path / "o.sqlite3"),
        rooms={},
        clock=wall,
        monotonic=mono,
        prompt=lambda on, window: None,
        local=lambda t: t,
    )
    watch.tick()  # booted: the restart's own silence is behind it
    watch.on_sensor(SensorChanged(HALL_PIR, wall.now, "motion", 1))
    return watch, wall, mono


def test_a_forward_clock_step_is_no_silence(tmp_path: Path) -> None:
    watch, wall, mono = moved_at_noon(tmp_path)
    start = _inactivity(watch).silence_start
    assert start is not None
    limit = _inactivity(watch).prewarn_at
    assert limit is not None
    wall.now += 3 * 3600  # NTP steps the wall clock three hours on; no real time passes
    watch.tick()
    assert watch.tick() == []
    assert _inactivity(watch).silence_start == start + 3 * 3600
    assert not watch.prompting
    # The silence still ends in an alarm after its real length.
    while not watch.prompting:
        wall.now += 60
        mono.now += 60
        watch.tick()
    assert mono.now - 1000.0 == limit - start


def test_a_backward_clock_step_does_not_hold_the_detectors(tmp_path: Path) -> None:
    watch, wall, mono = moved_at_noon(tmp_path)
    limit = _inactivity(watch).prewarn_at
    assert limit is not None
    wall.now -= 3600  # stepped back an hour
    elapsed = 0.0
    while not watch.prompting:
        wall.now += 60
        mono.now += 60
        elapsed += 60
        watch.tick()
    assert elapsed == limit - at("2026-11-23 12:00:00")  # not an hour late


def test_an_injected_clock_alone_is_taken_as_it_is(tmp_path: Path) -> None:
    """A test's or a simulation's clock jumps by design: no correction without a monotonic
    clock beside it (the gateway passes one only with the real wall clock)."""
    gateway, _, clock = home_gateway(tmp_path, "2026-11-23 12:00:00")
    gateway.handle(SensorChanged(HALL_PIR, clock.now, "motion", 1))
    clock.now += 12 * 3600
    gateway.home.tick()
    assert ("alarm", "inactivity") in kinds(gateway, clock)


def test_the_saved_state_of_before_away_periods_is_upgraded_keeping_the_routine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = HomeMonitor()
    _inactivity_of(old).learned[(19_000, SilenceContext.AWAKE, 9)] = 4000.0
    with monkeypatch.context() as patch:  # pickled as version 1 did: the detectors alone
        patch.setattr(
            HomeMonitor, "__getstate__", lambda self: (None, {"detectors": self.detectors})
        )
        saved = pickle.dumps((1, old))
    path = tmp_path / "home-detectors.pickle"
    path.write_bytes(saved)
    loaded = homestate.load(path)
    assert loaded is not None
    assert _inactivity_of(loaded).learned == {(19_000, SilenceContext.AWAKE, 9): 4000.0}
    assert loaded.away.periods == ()
    loaded.away.replace(())  # usable


def _inactivity_of(monitor: HomeMonitor) -> InactivityDetector:
    return next(d for d in monitor.detectors if isinstance(d, InactivityDetector))


def _inactivity(watch: HomeWatch) -> InactivityDetector:
    return _inactivity_of(watch.monitor)
