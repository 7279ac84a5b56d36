"""The serial driver over a TCP serial server (ser2net-style, pyserial ``socket://`` URL), as
docker-compose runs it: the simulated call button served by firmware-sim's TcpPort."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from firmware_sim.ports import TcpPort
from firmware_sim.serial_device import CallButton

from edge.events import DeviceRef, Key
from edge.serial.link import SerialLink
from edge.serial.payloads import Ack, AckStage, KeyKind
from tests.edge.recording import EventRecorder

DEVICE = DeviceRef("call-button-tcp", "call_button", "serial")


@pytest.fixture
def tcp_button() -> Iterator[tuple[TcpPort, CallButton]]:
    port = TcpPort("127.0.0.1", 0)
    button = CallButton(port, heartbeat_s=5)
    button.start()
    yield port, button
    button.stop()
    port.close()


def test_press_over_tcp_arrives_and_the_answer_goes_back(
    tcp_button: tuple[TcpPort, CallButton], recorder: EventRecorder
) -> None:
    port, button = tcp_button
    host, number = port.address[:2]
    link = SerialLink(DEVICE, f"socket://{host}:{number}", recorder)
    link.start()
    try:
        assert button.link_up.wait(10)  # a heartbeat crossed and its answer came back
        press = button.press(KeyKind.EMERGENCY)
        assert recorder.wait_until(lambda: len(recorder.presses()) == 1)
        [event] = recorder.presses()
        assert (event.key, event.frame_seq, event.device) == (Key.EMERGENCY, press.seq, DEVICE)
        assert link.send(Ack(press.seq, AckStage.HELP_COMING))
        assert button.wait_for_stage(press, AckStage.HELP_COMING, 5)
    finally:
        link.stop()
