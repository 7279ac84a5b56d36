"""The acceleration trace a fall alarm carries, for the console's plot.

A wearer's raw samples are kept for ``KEEP_RAW_S`` (device time) so that when the detector
decides, the trace can run from ``TRACE_BEFORE_S`` before the impact to the decision. Shared
by the gateway's fall flow and the centre's, so both kinds of fall alarm plot alike.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from gateway.detect.fall import FallEvent
from protocol.messages import MAX_TRACE_SAMPLES, AccelTrace

TRACE_BEFORE_S = 2.0  # trace starts this long before the impact, ends at the decision
# Raw samples kept per wearer for the trace: TRACE_BEFORE_S plus the latest decision (a soft
# fall is confirmed FallConfig.confirm_s = 6 s after its impact), with room for a late batch.
KEEP_RAW_S = 14.0

Xyz = tuple[float, float, float]


class RawSamples:
    """One wearer's latest raw samples ``(t s, (x, y, z) g)``, oldest first, device time."""

    def __init__(self) -> None:
        self._rows: deque[tuple[float, Xyz]] = deque()

    def extend(self, t_s: Sequence[float], acc_g: Sequence[Xyz]) -> None:
        self._rows.extend(zip(t_s, acc_g, strict=True))

    def clear(self) -> None:
        self._rows.clear()

    def trim(self, latest_s: float) -> None:
        """Forget what no trace can need once the detector has seen up to ``latest_s``.
        Call only after deciding on a batch: a decision it completed needs the samples
        before it."""
        while self._rows and self._rows[0][0] < latest_s - KEEP_RAW_S:
            self._rows.popleft()

    def trace(self, event: FallEvent) -> AccelTrace | None:
        """The samples from ``TRACE_BEFORE_S`` before the impact to the decision, times
        relative to the impact; None if none is left (the alarm still goes)."""
        rows = [
            (t - event.t_impact, xyz)
            for t, xyz in self._rows
            if event.t_impact - TRACE_BEFORE_S <= t <= event.t_detect
        ]
        # A fast sensor gives more samples than an alarm may carry: thin the trace evenly
        # (an alarm that fails validation would be a lost fall).
        rows = rows[:: max(1, -(-len(rows) // MAX_TRACE_SAMPLES))]
        if not rows:
            return None
        return AccelTrace(t_s=[round(t, 4) for t, _ in rows], g=[xyz for _, xyz in rows])
