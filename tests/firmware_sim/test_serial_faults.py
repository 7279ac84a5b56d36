"""Serial faults on a real pseudo-terminal, read by the gateway's real serial driver: what the
host sees is exactly what was injected, counted."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from firmware_sim.faults import FaultLog, FaultyPort, LineFaults
from firmware_sim.faults.devices import STUCK_PRESS, battery_drain, repeat_presses, silence
from firmware_sim.ports import PtyPort, TcpPort
from firmware_sim.serial_device import CallButton
from firmware_sim.timeline import SimClock, Timeline, run

from edge.events import BatteryReported
from edge.serial.link import SerialLink
from edge.serial.payloads import KeyKind, KeyPress, to_frame
from tests.edge.recording import EventRecorder
from tests.edge.serial.test_link import DEVICE, link, port

DEADLINE_S = 10.0
FRAMES = 300
__all__ = ["link", "port"]  # fixtures shared with the driver tests


def test_garbage_drops_and_duplicates_arrive_exactly_as_injected(
    port: PtyPort, link: SerialLink, recorder: EventRecorder
) -> None:
    log = FaultLog()
    faulty = FaultyPort(
        port, "btn-1", log, faults=LineFaults(garbage=0.3, drop=0.1, duplicate=0.1), seed=5
    )
    for seq in range(1, FRAMES + 1):
        faulty.write(to_frame(KeyPress(KeyKind.EMERGENCY, 0), seq).encode())

    dropped = {int(r.detail["seq"]) for r in log.records if r.kind == "drop"}
    doubled = {int(r.detail["seq"]) for r in log.records if r.kind == "duplicate"}
    garbage = sum(int(r.detail["bytes"]) for r in log.records if r.kind == "garbage")
    expected = [
        s for s in range(1, FRAMES + 1) if s not in dropped for _ in (s, s)[: 1 + (s in doubled)]
    ]
    # The seed gives every kind of fault several times (a seed that gave none proves nothing).
    assert min(len(dropped), len(doubled), log.count("garbage")) >= 10

    assert recorder.wait_until(
        lambda: len(recorder.presses()) >= len(expected) and link.dropped_bytes >= garbage,
        DEADLINE_S,
    ), (len(recorder.presses()), len(expected), link.dropped_bytes, garbage)
    assert [p.frame_seq for p in recorder.presses()] == expected
    assert link.dropped_bytes == garbage
    assert not link.rejected


def test_same_seed_same_faults(port: PtyPort) -> None:
    logs = []
    for _ in range(2):
        log = FaultLog()
        faulty = FaultyPort(port, "b", log, faults=LineFaults(0.5, 0.2, 0.2), seed=11)
        for seq in range(50):
            faulty.write(to_frame(KeyPress(KeyKind.SERVICE, 0), seq).encode())
        logs.append([(r.kind, r.detail) for r in log.records])
    assert logs[0] == logs[1]
    assert logs[0]


def test_unplugged_port_comes_back_at_the_same_path_and_the_host_reconnects(
    port: PtyPort, link: SerialLink, recorder: EventRecorder
) -> None:
    log = FaultLog()
    faulty = FaultyPort(port, "btn-1", log)
    faulty.unplug()
    assert recorder.wait_until(lambda: recorder.availability() == [True, False], DEADLINE_S)
    faulty.plug()
    assert recorder.wait_until(lambda: recorder.availability() == [True, False, True], DEADLINE_S)

    faulty.write(to_frame(KeyPress(KeyKind.EMERGENCY, 0), 9).encode())
    assert recorder.wait_until(lambda: [p.frame_seq for p in recorder.presses()] == [9])
    assert port.link.is_symlink()  # the same by-id style path, to the new tty
    assert [r.kind for r in log.records] == ["unplug", "replug"]


def test_tcp_port_unplugs_like_a_ser2net_box_losing_its_device(recorder: EventRecorder) -> None:
    port = TcpPort("127.0.0.1", 0)
    host, number = port.address
    log = FaultLog()
    faulty = FaultyPort(port, "btn-tcp", log)
    button = CallButton(faulty, heartbeat_s=0.2)
    driver = SerialLink(DEVICE, f"socket://{host}:{number}", recorder)
    button.start()
    driver.start()
    try:
        assert button.link_up.wait(DEADLINE_S)
        faulty.unplug()
        assert recorder.wait_until(lambda: False in recorder.availability(), DEADLINE_S)
        faulty.plug()
        assert recorder.wait_until(lambda: recorder.availability()[-1], DEADLINE_S)
        press = button.press(KeyKind.FAMILY)
        assert recorder.wait_until(
            lambda: press.seq in [p.frame_seq for p in recorder.presses()], DEADLINE_S
        )
    finally:
        driver.stop()
        button.stop()
        port.close()
    assert port.address == (host, number)
    assert log.by_kind() == {"unplug": 1, "replug": 1}


@pytest.fixture
def button(port: PtyPort, link: SerialLink) -> Iterator[tuple[CallButton, FaultyPort, FaultLog]]:
    log = FaultLog()
    faulty = FaultyPort(port, "btn-1", log)
    device = CallButton(faulty, heartbeat_s=0.1, battery_percent=60)
    device.start()
    assert device.link_up.wait(DEADLINE_S)
    yield device, faulty, log
    device.stop()


def test_stuck_key_sends_each_repeat_as_a_new_press(
    button: tuple[CallButton, FaultyPort, FaultLog], recorder: EventRecorder
) -> None:
    device, _faulty, log = button
    timeline = Timeline()
    repeat_presses(
        timeline,
        log,
        "btn-1",
        lambda: device.press(KeyKind.EMERGENCY),
        fault=STUCK_PRESS,
        at_s=0,
        count=6,
        every_s=0.5,
    )
    assert run(timeline, SimClock(math.inf)) == 6

    assert recorder.wait_until(lambda: len(recorder.presses()) >= 6, DEADLINE_S)
    seqs = [p.frame_seq for p in recorder.presses()]
    assert sorted(set(seqs)) == sorted(device.presses)
    assert len(device.presses) == 6 == log.count(STUCK_PRESS)


def test_battery_drain_ends_in_battery_low_heartbeats(
    button: tuple[CallButton, FaultyPort, FaultLog], recorder: EventRecorder
) -> None:
    device, _faulty, log = button
    timeline = Timeline()

    def set_level(level: int) -> None:
        device.battery_percent = level

    battery_drain(
        timeline,
        log,
        "btn-1",
        set_level,
        at_s=0,
        start_percent=60,
        to_percent=10,
        over_s=1,
        steps=5,
    )
    assert run(timeline, SimClock(math.inf)) == 5

    def readings() -> list[BatteryReported]:
        return [e for e in recorder.events if isinstance(e, BatteryReported)]

    assert recorder.wait_until(lambda: any(r.battery_percent == 10 for r in readings()), DEADLINE_S)
    last = readings()[-1]
    assert last.battery_low
    levels = [r.battery_percent for r in readings()]
    assert levels == sorted(levels, key=lambda v: -(v or 0))  # never rises
    assert [r.detail["percent"] for r in log.records] == [50, 40, 30, 20, 10]
    assert [r.detail["low"] for r in log.records] == [False] * 4 + [True]


def test_a_silent_device_sends_nothing_until_it_resumes(
    button: tuple[CallButton, FaultyPort, FaultLog], recorder: EventRecorder
) -> None:
    _device, faulty, log = button
    timeline = Timeline()
    silence(timeline, log, "btn-1", faulty.set_silent, at_s=0, for_s=None)
    run(timeline, SimClock(math.inf))
    heard = len(recorder.events)

    assert recorder.wait_until(lambda: faulty.swallowed >= 5, DEADLINE_S)  # five heartbeats
    assert len(recorder.events) <= heard + 1  # at most one frame already on the line
    assert [r.kind for r in log.records] == ["silent"]
    faulty.set_silent(False)
    assert recorder.wait_until(lambda: len(recorder.events) > heard + 2, DEADLINE_S)
