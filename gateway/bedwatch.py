"""Bed vital signs from each serial bed sensor's pressure/BCG stream.

One :mod:`gateway.detect.vitals` state per bed, on the device's own sample grid (its
``rate_hz``). Blocks must follow each other on that grid: a gap (a lost frame, a restarted
sensor) starts the bed afresh, which costs the learned breathing reference (a minute) but
never joins two pieces of signal as if they were one. Readings are kept for telemetry, one a
minute; alarms (an apnoea-like pause, rates outside the resident's limits) are handed back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from edge.events import SignalReceived
from gateway.detect.vitals import (
    VitalsAlarm,
    VitalsConfig,
    VitalsReading,
    VitalsState,
    initial_state,
    step,
)

log = logging.getLogger(__name__)
REPORT_EVERY_S = 60.0


@dataclass
class Bed:
    config: VitalsConfig
    state: VitalsState
    next_t: float  # device time the next block must start at
    reported_at: float | None = None


@dataclass(frozen=True)
class BedOutcome:
    alarms: list[VitalsAlarm]
    report: VitalsReading | None  # the newest reading, once a minute


class BedWatch:
    def __init__(self, limits: VitalsConfig | None = None) -> None:
        self._limits = limits or VitalsConfig()
        self._beds: dict[str, Bed] = {}

    def on_signal(self, block: SignalReceived) -> BedOutcome:
        bed = self._beds.get(block.device.device_id)
        step_s = 1.0 / block.rate_hz
        contiguous = (
            bed is not None
            and bed.config.rate_hz == block.rate_hz
            and abs(block.t0_s - bed.next_t) <= step_s / 2
        )
        if bed is None or not contiguous:
            if bed is not None:
                log.info("bed %s: signal not contiguous, starting afresh", block.device.device_id)
            config = _at_rate(self._limits, block.rate_hz)
            bed = Bed(config, initial_state(block.t0_s, config), block.t0_s)
            self._beds[block.device.device_id] = bed
        bed.state, events = step(bed.state, list(block.values), bed.config)
        bed.next_t = block.t0_s + len(block.values) * step_s
        alarms = [e for e in events if isinstance(e, VitalsAlarm)]
        readings = [e for e in events if isinstance(e, VitalsReading)]
        report = None
        if readings and (
            bed.reported_at is None or readings[-1].t - bed.reported_at >= REPORT_EVERY_S
        ):
            report = readings[-1]
            bed.reported_at = report.t
        return BedOutcome(alarms, report)


def _at_rate(limits: VitalsConfig, rate_hz: float) -> VitalsConfig:
    return replace(limits, rate_hz=rate_hz)
