"""What a fleet sent and which receipts came back, for lost / duplicate / latency figures.

An alarm counts as delivered only on the centre's receipt (an application-level OK), never on
a PUBACK. Latency runs from the alarm's first transmission to its first receipt, on the
monotonic clock. Thread-safe: every connection thread of the fleet writes here.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass


@dataclass
class AlarmTrack:
    gateway_id: str
    kind: str
    raised_at: float  # monotonic
    first_sent_at: float | None = None
    transmissions: int = 0
    receipt_at: float | None = None
    receipts: int = 0
    duplicate_flags: int = 0  # receipts marked duplicate: a resend the centre already had


@dataclass(frozen=True)
class FleetSummary:
    homes: int
    connected: int
    alarms_raised: int
    alarms_confirmed: int
    alarms_unconfirmed: int
    resends: int
    extra_receipts: int  # receipts beyond the first for one alarm
    unknown_receipts: int  # receipts for ids this fleet never sent
    sent: dict[str, int]
    latency_p50_ms: float
    latency_p99_ms: float
    latency_max_ms: float

    def line(self, prefix: str = "fleet") -> str:
        sent = " ".join(f"{k}={v}" for k, v in sorted(self.sent.items()))
        return (
            f"{prefix}: homes={self.homes} connected={self.connected} alarms={self.alarms_raised}"
            f" confirmed={self.alarms_confirmed} unconfirmed={self.alarms_unconfirmed}"
            f" resends={self.resends} extra_receipts={self.extra_receipts}"
            f" latency_p50_ms={self.latency_p50_ms:.1f} latency_p99_ms={self.latency_p99_ms:.1f}"
            f" latency_max_ms={self.latency_max_ms:.1f} sent: {sent}"
        )


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


class FleetLedger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.alarms: dict[str, AlarmTrack] = {}
        self.sent: Counter[str] = Counter()
        self.unknown_receipts = 0
        self.commands = 0
        self.connected: set[str] = set()

    def raised(self, alarm_id: str, gateway_id: str, kind: str, now: float) -> None:
        with self._lock:
            self.alarms[alarm_id] = AlarmTrack(gateway_id, kind, now)

    def transmitted(self, channel: str, now: float, alarm_id: str | None = None) -> None:
        with self._lock:
            self.sent[channel] += 1
            track = self.alarms.get(alarm_id) if alarm_id else None
            if track is not None:
                track.transmissions += 1
                if track.first_sent_at is None:
                    track.first_sent_at = now

    def receipt(self, ref_id: str, duplicate: bool, now: float) -> None:
        with self._lock:
            track = self.alarms.get(ref_id)
            if track is None:
                self.unknown_receipts += 1  # events get receipts too; counted, not tracked
                return
            track.receipts += 1
            track.duplicate_flags += duplicate
            if track.receipt_at is None:
                track.receipt_at = now

    def command(self) -> None:
        with self._lock:
            self.commands += 1

    def link(self, gateway_id: str, up: bool) -> None:
        with self._lock:
            if up:
                self.connected.add(gateway_id)
            else:
                self.connected.discard(gateway_id)

    def unconfirmed(self) -> int:
        with self._lock:
            return sum(1 for t in self.alarms.values() if t.receipt_at is None)

    def summary(self, homes: int) -> FleetSummary:
        with self._lock:
            tracks = list(self.alarms.values())
            sent = dict(self.sent)
            unknown, connected = self.unknown_receipts, len(self.connected)
        latencies = [
            (t.receipt_at - t.first_sent_at) * 1000
            for t in tracks
            if t.receipt_at is not None and t.first_sent_at is not None
        ]
        return FleetSummary(
            homes=homes,
            connected=connected,
            alarms_raised=len(tracks),
            alarms_confirmed=sum(1 for t in tracks if t.receipt_at is not None),
            alarms_unconfirmed=sum(1 for t in tracks if t.receipt_at is None),
            resends=sum(max(0, t.transmissions - 1) for t in tracks),
            extra_receipts=sum(max(0, t.receipts - 1) for t in tracks),
            unknown_receipts=unknown,
            sent=sent,
            latency_p50_ms=percentile(latencies, 50),
            latency_p99_ms=percentile(latencies, 99),
            latency_max_ms=max(latencies, default=math.nan),
        )
