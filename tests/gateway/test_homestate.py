"""The home detectors' knowledge survives a restart: the learned routine and a silence that
began before it; an unreadable file is set aside and the detectors start afresh."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge.events import DeviceRef, SensorChanged
from gateway import homestate
from gateway.detect.inactivity import InactivityDetector
from gateway.outbox import Outbox
from gateway.service import Gateway
from tests.gateway.stubs import Clock
from tests.gateway.test_homewatch import at

PIR = DeviceRef("hall-pir", "motion_sensor", "zigbee2mqtt")


def gateway(tmp_path: Path, clock: Clock) -> Gateway:
    return Gateway(
        "gw-1",
        "home-1",
        Outbox(tmp_path / "o.sqlite3"),
        clock=clock,
        local_time=lambda t: t,
        rooms={"hall-pir": "hall"},
        home_state=tmp_path / "home-detectors.pickle",
    )


def inactivity(gw: Gateway) -> Any:
    return next(d for d in gw.home.monitor.detectors if isinstance(d, InactivityDetector))


def test_the_routine_and_the_current_silence_survive_a_restart(tmp_path: Path) -> None:
    clock = Clock(at("2026-11-23 07:00:00"))
    first = gateway(tmp_path, clock)
    for minute in range(0, 600, 7):  # a morning of movement in the hall
        clock.now = at("2026-11-23 07:00:00") + minute * 60
        first.handle(SensorChanged(PIR, clock.now, "motion", 1))
        first.handle(SensorChanged(PIR, clock.now + 30, "motion", 0))
        first.home.tick()
    before = inactivity(first)
    learned, silence_start = dict(before.learned), before.silence_start
    assert learned
    first.home.save()  # what stop() does after the worker ends

    clock.now += 3600  # an hour later, after a power cut
    second = gateway(tmp_path, clock)
    after = inactivity(second)
    assert after.learned == learned
    assert after.silence_start == silence_start  # not restarted from the boot
    second.home.tick()
    assert inactivity(second).silence_start == silence_start


def test_an_unreadable_state_is_set_aside_and_the_detectors_start_afresh(tmp_path: Path) -> None:
    path = tmp_path / "home-detectors.pickle"
    path.write_bytes(b"not a pickle at all")
    assert homestate.load(path) is None
    assert not path.exists()
    assert (tmp_path / "home-detectors.bad").read_bytes() == b"not a pickle at all"
    fresh = gateway(tmp_path, Clock(at("2026-11-23 07:00:00")))
    assert inactivity(fresh).learned == {}
