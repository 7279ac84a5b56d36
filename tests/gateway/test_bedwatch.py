"""Bed vital signs in the gateway: a serial bed sensor's signal blocks, a breathing pause
becomes one vital-signs alarm, readings go out as telemetry once a minute, a gap restarts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from firmware_sim.bed_signal import synthesize

from edge.events import DeviceRef, SignalReceived
from edge.serial.payloads import SignalBlock
from gateway.bedwatch import BedWatch
from gateway.outbox import Outbox
from gateway.service import Gateway
from protocol import AlarmMessage, Channel, TelemetryMessage, decode_uplink
from tests.gateway.stubs import Clock, StubUplink

BED = DeviceRef("bed-1", "bed_sensor", "serial")
RATE = 100
BLOCK = SignalBlock.MAX_VALUES
WALL_START = 1_800_000_000.0


def blocks(x: np.ndarray, t0: float = 10.0) -> list[SignalReceived]:
    """The signal as the serial link delivers it: frames of 125 micro-unit samples."""
    out = []
    for i in range(0, len(x), BLOCK):
        chunk = tuple(round(v * 1e6) * 1e-6 for v in x[i : i + BLOCK])
        start = t0 + i / RATE
        arrived = WALL_START + start + len(chunk) / RATE
        out.append(SignalReceived(BED, arrived, "bed_pressure", start, float(RATE), chunk))
    return out


def test_a_breathing_pause_is_one_vital_signs_alarm_through_the_outbox(tmp_path: Path) -> None:
    clock = Clock()
    gateway = Gateway("gw-1", "home-1", Outbox(tmp_path / "o.sqlite3"), clock=clock)
    uplink = StubUplink()
    gateway.uplink = uplink  # type: ignore[assignment]
    _, x, _ = synthesize(240, seed=7, apnoea_spans=[(120, 40)])
    for block in blocks(x):
        gateway.handle(block)

    items = gateway.outbox.due(clock.now + 1e6)
    alarms = [decode_uplink(f"eldercare/v1/gw-1/up/{i.channel}", i.payload) for i in items]
    assert len(alarms) == 1
    [alarm] = alarms
    assert isinstance(alarm, AlarmMessage)
    assert alarm.body.kind.value == "vital_signs"
    assert alarm.body.priority == 1
    assert alarm.body.detail == {"condition": "apnoea"}
    assert alarm.device_id == "bed-1"
    # The pause began 120 s into the recording (device time 130 s); the alarm says so.
    assert abs(alarm.device_time.timestamp() - (WALL_START + 130.0)) < 15
    telemetry = [
        decode_uplink("eldercare/v1/gw-1/up/telemetry", p)
        for c, p in uplink.published
        if c is Channel.TELEMETRY
    ]
    assert 3 <= len(telemetry) <= 5  # one a minute over four minutes
    heart = [t.body.fields.get("heart_bpm") for t in telemetry if isinstance(t, TelemetryMessage)]
    assert any(isinstance(h, float) and 55 <= h <= 70 for h in heart)


def test_a_gap_in_the_signal_starts_the_bed_afresh() -> None:
    watch = BedWatch()
    _, x, _ = synthesize(120, seed=3)
    first = blocks(x[:6000])
    later = blocks(x[6000:], t0=10.0 + 60.0 + 5.0)  # five seconds missing
    for block in first:
        watch.on_signal(block)
    outcome = watch.on_signal(later[0])
    assert outcome.alarms == []
    # A fresh state has no reading yet for a block shorter than a hop's worth of history.
    assert watch._beds["bed-1"].state.consumed == len(later[0].values)
