"""A per-device budget of routine messages, so a babbling device cannot starve the others.

Each device may send ``rate_per_s`` routine messages a second on average, with bursts of up to
``burst``; beyond that its routine traffic is dropped and counted as ``flood``. What can be an
alarm (a key press, a fall, smoke) is never dropped: a stuck key or a flapping contact costs
its own budget, never somebody's emergency call.

Budgets: a wearable streaming 200 Hz in SAMPLES frames of up to 63 samples sends about
4 frames/s, and may flush a buffered backlog when its link returns; a PIR reports at most every
few seconds. 50/s sustained with bursts of 300 is far above any honest device and far below
what would load the gateway (a 115,200 baud line carries at most ~800 tiny frames/s).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RATE_PER_S = 50.0
DEFAULT_BURST = 300.0


@dataclass
class FloodGate:
    rate_per_s: float = DEFAULT_RATE_PER_S
    burst: float = DEFAULT_BURST
    _tokens: float = DEFAULT_BURST
    _last: float | None = None

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ValueError("a flood gate needs a positive rate and a burst of at least 1")
        self._tokens = self.burst

    def admit(self, now: float) -> bool:
        """Whether one more routine message fits the budget at ``now`` (any clock that
        does not jump backwards by much: a backwards step refills nothing)."""
        if self._last is not None:
            elapsed = max(0.0, now - self._last)
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate_per_s)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
