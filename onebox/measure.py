"""Matching what devices pressed with what the console's live stream delivered.

Serial presses are matched by (device, frame sequence number), which the alarm carries in its
origin; Zigbee2MQTT payloads carry no id, so their presses are matched in order per device.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from firmware_sim.home import PressRecord

from onebox.console_client import LiveEvent


@dataclass(frozen=True)
class DeliveryReport:
    raised: int
    at_console: int
    lost: int
    duplicates: int
    latencies_ms: tuple[float, ...]

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def line(self, prefix: str) -> str:
        return (
            f"{prefix}: alarms_raised={self.raised} alarms_at_console={self.at_console}"
            f" lost={self.lost} duplicates={self.duplicates}"
            f" latency_p50_ms={self.percentile(50):.1f} latency_p99_ms={self.percentile(99):.1f}"
        )


def correlate(presses: list[PressRecord], events: list[LiveEvent]) -> DeliveryReport:
    devices = {p.device_id for p in presses}
    raised = [
        e for e in events if e.type == "alarm.raised" and e.data["alarm"]["device_id"] in devices
    ]
    seen_ids: set[str] = set()
    repeated = 0
    first: list[LiveEvent] = []
    for event in sorted(raised, key=lambda e: e.received_at):
        alarm_id = event.data["alarm"]["id"]
        if alarm_id in seen_ids:
            repeated += 1  # the same alarm delivered to the console twice
            continue
        seen_ids.add(alarm_id)
        first.append(event)

    by_frame: dict[tuple[str, int], list[LiveEvent]] = defaultdict(list)
    in_order: dict[str, list[LiveEvent]] = defaultdict(list)
    for event in first:
        alarm = event.data["alarm"]
        seq = alarm["origin"].get("frame_seq")
        if seq is None:
            in_order[alarm["device_id"]].append(event)
        else:
            by_frame[(alarm["device_id"], seq)].append(event)

    latencies: list[float] = []
    lost = 0
    extra = 0
    unordered: dict[str, list[PressRecord]] = defaultdict(list)
    for press in presses:
        if press.frame_seq is None:
            unordered[press.device_id].append(press)
            continue
        matched = by_frame.get((press.device_id, press.frame_seq), [])
        if not matched:
            lost += 1
            continue
        extra += len(matched) - 1  # one press that became several alarms
        latencies.append((matched[0].received_at - press.written_at) * 1000)
    for device_id, device_presses in unordered.items():
        delivered = in_order.get(device_id, [])
        for press, event in zip(device_presses, delivered, strict=False):
            latencies.append((event.received_at - press.written_at) * 1000)
        lost += max(0, len(device_presses) - len(delivered))
        extra += max(0, len(delivered) - len(device_presses))
    return DeliveryReport(
        raised=len(presses),
        at_console=len(first),
        lost=lost,
        duplicates=repeated + extra,
        latencies_ms=tuple(latencies),
    )
