"""The serial driver on a real pseudo-terminal, opened with pyserial as real hardware is."""

from __future__ import annotations

import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import serial
from firmware_sim.ports import PtyPort

from edge.events import AvailabilityChanged, BatteryReported, DeviceRef, Key, KeyPressed
from edge.serial.framing import Frame, FrameReader
from edge.serial.link import SerialLink, open_port
from edge.serial.payloads import (
    Ack,
    AckStage,
    FrameType,
    Heartbeat,
    KeyKind,
    KeyPress,
    decode,
    to_frame,
)
from tests.edge.recording import EventRecorder

DEVICE = DeviceRef("btn-1", "call_button", "serial")
DEADLINE_S = 5.0
CLOCK = 1_700_000_000.0


def press(seq: int, key: KeyKind = KeyKind.EMERGENCY) -> bytes:
    return to_frame(KeyPress(key, age_ms=250), seq).encode()


def with_garbage_inside(encoded: bytes, at: int, garbage: bytes) -> bytes:
    return encoded[:at] + garbage + encoded[at:]


@pytest.fixture
def port(tmp_path: Path) -> Iterator[PtyPort]:
    device_side = PtyPort(tmp_path / "ttyX")
    yield device_side
    device_side.close()


@pytest.fixture
def link(port: PtyPort, recorder: EventRecorder) -> Iterator[SerialLink]:
    driver = SerialLink(DEVICE, str(port.link), recorder, clock=lambda: CLOCK)
    driver.start()
    # Opening the port flushes its input: write nothing before the driver is listening.
    assert driver.connected.wait(DEADLINE_S), "the driver never opened the pty"
    yield driver
    driver.stop()


def test_garbage_between_and_inside_frames(
    port: PtyPort, link: SerialLink, recorder: EventRecorder
) -> None:
    intact = {seq: press(seq, KeyKind(1 + seq % 3)) for seq in range(10, 16)}
    damaged = {
        100: with_garbage_inside(press(100), 9, b"\x77\x88"),  # inside the payload
        101: with_garbage_inside(press(101), 3, b"\x00"),  # inside the header
        102: with_garbage_inside(press(102), 1, b"\x00"),  # between the two marker bytes
        103: press(103)[:-1],  # CRC cut short, the next frame follows at once
    }
    stream = b"".join(
        [
            b"\x00\xff\x13",
            intact[10],
            b"\xa5noise",
            intact[11],
            damaged[100],
            intact[12],
            damaged[101],
            b"\xa5\x5a\x10\x00\x00\x40\x00",  # false start claiming a 64-byte payload
            intact[13],
            damaged[102],
            damaged[103],
            intact[14],
            b"\x5a\xa5\x5a",
            intact[15],
            b"\x01\x02\xa5",  # trailing half marker: dropped once the line goes idle
        ]
    )
    expected_dropped = len(stream) - sum(len(f) for f in intact.values())
    # Self-check of the stream: offline, exactly the intact frames survive it.
    offline = FrameReader()
    decoded = offline.feed(stream)
    while offline.pending_bytes:
        decoded += offline.abandon_partial()
    assert [f.seq for f in decoded] == list(intact)
    assert offline.dropped_bytes == expected_dropped

    port.write(stream)

    arrived = recorder.wait_until(
        lambda: len(recorder.presses()) >= len(intact) and link.dropped_bytes >= expected_dropped,
        DEADLINE_S,
    )
    assert arrived, (recorder.presses(), link.dropped_bytes, expected_dropped)
    presses = recorder.presses()
    assert [p.frame_seq for p in presses] == list(intact)
    assert not {p.frame_seq for p in presses} & damaged.keys()
    assert [p.key for p in presses] == [
        [Key.EMERGENCY, Key.SERVICE, Key.FAMILY][seq % 3] for seq in intact
    ]
    assert all(p.device == DEVICE for p in presses)
    assert all(p.received_at == CLOCK and p.occurred_at == CLOCK - 0.25 for p in presses)
    assert link.dropped_bytes == expected_dropped
    assert not link.rejected


def test_driver_reconnects_after_the_port_is_unplugged_and_plugged_back(
    port: PtyPort, link: SerialLink, recorder: EventRecorder
) -> None:
    port.write(press(1))
    assert recorder.wait_until(lambda: len(recorder.presses()) == 1, DEADLINE_S)

    port.unplug()
    assert recorder.wait_until(lambda: recorder.availability() == [True, False], DEADLINE_S)
    assert not link.connected.is_set()
    assert link.reconnects == 1

    port.plug()
    assert recorder.wait_until(lambda: recorder.availability() == [True, False, True], DEADLINE_S)
    assert link.connected.is_set()
    port.write(press(2))

    assert recorder.wait_until(lambda: len(recorder.presses()) == 2, DEADLINE_S)
    assert [p.frame_seq for p in recorder.presses()] == [1, 2]
    availability = [e for e in recorder.events if isinstance(e, AvailabilityChanged)]
    assert all(e.device == DEVICE for e in availability)
    assert link.dropped_bytes == 0


def test_driver_keeps_retrying_while_the_port_is_missing(
    tmp_path: Path, recorder: EventRecorder
) -> None:
    path = tmp_path / "ttyLater"
    driver = SerialLink(DEVICE, str(path), recorder)
    driver.start()
    late: PtyPort | None = None
    try:
        assert not driver.connected.wait(0.3)  # nothing to open yet, several attempts failed
        late = PtyPort(path)
        assert driver.connected.wait(DEADLINE_S)
        late.write(press(5))
        assert recorder.wait_until(lambda: len(recorder.presses()) == 1, DEADLINE_S)
    finally:
        driver.stop()
        if late is not None:
            late.close()
    assert recorder.availability() == [True, False]  # a failed open is not an availability


def read_frames(port: PtyPort, count: int, timeout: float) -> list[Frame]:
    reader = FrameReader()
    frames: list[Frame] = []
    deadline = time.monotonic() + timeout
    while len(frames) < count and time.monotonic() < deadline:
        frames += reader.feed(port.read(0.05))
    return frames


def test_heartbeat_is_answered_with_an_ack(
    port: PtyPort, link: SerialLink, recorder: EventRecorder
) -> None:
    heartbeat = Heartbeat(37, mains_powered=False, battery_low=True, uptime_s=99)
    port.write(to_frame(heartbeat, seq=0x1234).encode())

    (answer,) = read_frames(port, 1, DEADLINE_S)

    assert answer.type == FrameType.ACK
    assert decode(answer) == Ack(ref_seq=0x1234, stage=AckStage.RECEIVED)
    assert recorder.wait_until(lambda: len(recorder.events) == 2, DEADLINE_S)
    assert recorder.events[1] == BatteryReported(DEVICE, CLOCK, 37, battery_low=True)


def test_host_frames_number_their_own_sequence(
    port: PtyPort, link: SerialLink, recorder: EventRecorder
) -> None:
    for seq in (7, 7, 8):  # a retransmitted heartbeat is answered again
        port.write(to_frame(Heartbeat(50, True, False, 1), seq).encode())

    answers = read_frames(port, 3, DEADLINE_S)

    assert [decode(a) for a in answers] == [
        Ack(7, AckStage.RECEIVED),
        Ack(7, AckStage.RECEIVED),
        Ack(8, AckStage.RECEIVED),
    ]
    assert [a.seq for a in answers] == [0, 1, 2]


def test_frames_the_host_does_not_expect_are_counted_not_raised(
    port: PtyPort, link: SerialLink, recorder: EventRecorder
) -> None:
    port.write(to_frame(Ack(1, AckStage.RECEIVED), 1).encode())  # a host-to-device type
    port.write(Frame(0x99, 2, b"").encode())  # unknown type, valid CRC
    port.write(Frame(FrameType.KEY_PRESS, 3, b"\x09\x00\x00\x00\x00").encode())  # bad key
    port.write(press(4))

    assert recorder.wait_until(lambda: len(recorder.presses()) == 1, DEADLINE_S)
    assert recorder.presses()[0].frame_seq == 4
    assert isinstance(recorder.events[-1], KeyPressed)
    assert dict(link.rejected) == {"unexpected_frame": 1, "unknown_type": 1, "bad_value": 1}
    assert link.dropped_bytes == 0


def test_a_flooding_device_is_cut_off_but_its_presses_never_are(
    port: PtyPort, link: SerialLink, recorder: EventRecorder
) -> None:
    # 1500 heartbeats at once (~21 kB), far beyond any honest device, then a press.
    flood = b"".join(to_frame(Heartbeat(50, True, False, 1), s).encode() for s in range(1500))
    port.write(flood + press(1501))
    assert recorder.wait_until(lambda: len(recorder.presses()) == 1, DEADLINE_S)
    assert recorder.wait_until(
        lambda: link.rejected["flood"] + len(batteries(recorder)) == 1500, DEADLINE_S
    )
    assert link.rejected["flood"] >= 900  # the burst passes; the rest is counted, not queued
    assert len(batteries(recorder)) >= 300


def batteries(recorder: EventRecorder) -> list[BatteryReported]:
    return [e for e in recorder.events if isinstance(e, BatteryReported)]


class VanishingPort:
    """A real pty port whose ``flush`` fails as a pulled cable makes tcdrain fail."""

    def __init__(self, url: str) -> None:
        self.inner = open_port(url)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def flush(self) -> None:
        raise termios.error(5, "Input/output error")


def test_a_port_that_vanishes_inside_termios_calls_is_a_lost_port_not_a_crash(
    port: PtyPort, recorder: EventRecorder
) -> None:
    """pyserial lets ``termios.error`` (not an OSError) out of open and flush; both mean the
    cable went, so the driver retries the open and reports a failed write, and keeps reading."""
    attempts: list[str] = []

    def opener(url: str) -> VanishingPort:
        attempts.append(url)
        if len(attempts) == 1:
            raise termios.error(5, "Input/output error")  # tcsetattr while opening
        return VanishingPort(url)

    driver = SerialLink(DEVICE, str(port.link), recorder, clock=lambda: CLOCK, opener=opener)
    driver.start()
    try:
        assert driver.connected.wait(DEADLINE_S), "the driver gave up after a termios error"
        assert len(attempts) == 2
        assert driver.send(Ack(1, AckStage.RECEIVED)) is False
        port.write(press(3))
        assert recorder.wait_until(lambda: len(recorder.presses()) == 1, DEADLINE_S)
    finally:
        driver.stop()


def test_a_port_is_read_by_one_process_only(port: PtyPort) -> None:
    """Two readers of one device would each lose the frames the other took."""
    first = open_port(str(port.link))
    try:
        with pytest.raises(serial.SerialException, match="lock"):
            open_port(str(port.link))
    finally:
        first.close()
    open_port(str(port.link)).close()  # free again once the first lets go
