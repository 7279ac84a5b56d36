"""Fall detection for a waist-worn triaxial accelerometer, vectorised across streams.

The physics of a fall, as three conditions on one candidate:

1. **Impact**: the acceleration magnitude ``|a|`` exceeds ``impact_g``; the candidate's impact
   is the largest magnitude within ``peak_window_s`` of the first crossing.
2. **Change of orientation** relative to the posture before: the angle between the gravity
   direction before the fall (a slow low-pass of ``a``, frozen when the candidate starts, so
   the fall's own motion barely moves it) and the gravity direction ``settle_s`` after the
   impact (a faster low-pass) exceeds ``min_angle_deg``. Angles between vectors do not depend
   on how the device is rotated on the belt.
3. **Lying still** afterwards: the standard deviation of ``|a|`` from ``still_from_s`` to
   ``settle_s`` after the impact stays under ``max_still_g``.

A new crossing after the peak window replaces a pending candidate: a later impact is the one
that matters (a stumble followed by the fall), and it already means the wearer was not still.

Everything runs on a fixed internal grid (``rate_hz``; see :mod:`gateway.detect.resample`
for irregular or other-rate input). The per-sample loop below steps all streams at once;
filters run over whole blocks with ``scipy.signal.sosfilt`` and carried state.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy import signal

Array = NDArray[np.float64]


@dataclass(frozen=True)
class FallConfig:
    """Parameters, in g, degrees, seconds and Hz."""

    rate_hz: float = 50.0
    impact_g: float = 2.0
    min_angle_deg: float = 40.0
    max_still_g: float = 0.3
    peak_window_s: float = 1.0
    still_from_s: float = 1.0
    settle_s: float = 2.5
    posture_hz: float = 1.0  # low-pass for the posture after the fall
    reference_hz: float = 0.1  # slower low-pass for the posture before it

    def __post_init__(self) -> None:
        if not 10 <= self.rate_hz <= 400:
            raise ValueError(f"rate_hz {self.rate_hz} outside 10..400 Hz")
        if not 0 < self.still_from_s < self.settle_s:
            raise ValueError("need 0 < still_from_s < settle_s")
        if self.peak_window_s >= self.settle_s:
            raise ValueError("need peak_window_s < settle_s")

    def samples(self, seconds: float) -> int:
        return max(1, round(seconds * self.rate_hz))

    @cached_property
    def posture_sos(self) -> Array:
        return np.asarray(signal.butter(2, self.posture_hz, fs=self.rate_hz, output="sos"))

    @cached_property
    def reference_sos(self) -> Array:
        return np.asarray(signal.butter(2, self.reference_hz, fs=self.rate_hz, output="sos"))


@dataclass(frozen=True)
class FallEvent:
    stream: int
    t_impact: float  # s, stream time of the impact sample
    t_detect: float  # s, stream time of the last sample consumed when deciding
    peak_g: float
    angle_deg: float
    stillness_g: float


@dataclass
class FallState:
    """Per-stream state; every array's first axis is the stream."""

    t_start: Array  # s, time of each stream's sample 0
    consumed: NDArray[np.int64]  # samples consumed so far
    primed: bool = False  # filters are started from the first sample seen
    zi_posture: Array = field(default_factory=lambda: np.zeros(0))
    zi_reference: Array = field(default_factory=lambda: np.zeros(0))
    pending: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    started_at: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    impact_at: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    peak: Array = field(default_factory=lambda: np.zeros(0))
    before: Array = field(default_factory=lambda: np.zeros((0, 3)))
    still_n: Array = field(default_factory=lambda: np.zeros(0))
    still_sum: Array = field(default_factory=lambda: np.zeros(0))
    still_sq: Array = field(default_factory=lambda: np.zeros(0))

    @property
    def streams(self) -> int:
        return len(self.t_start)


def initial_state(t_start: Array | list[float]) -> FallState:
    """A fresh state for ``len(t_start)`` streams whose first samples fall at ``t_start``."""
    starts = np.asarray(t_start, dtype=np.float64).reshape(-1)
    n = len(starts)
    return FallState(
        t_start=starts,
        consumed=np.zeros(n, np.int64),
        pending=np.zeros(n, bool),
        started_at=np.zeros(n, np.int64),
        impact_at=np.zeros(n, np.int64),
        peak=np.zeros(n),
        before=np.zeros((n, 3)),
        still_n=np.zeros(n),
        still_sum=np.zeros(n),
        still_sq=np.zeros(n),
    )


def _filter(sos: Array, x: Array, zi: Array, primed: bool) -> tuple[Array, Array]:
    """Low-pass ``x`` (streams*3, n) along time, starting at rest on the first sample."""
    if not primed:
        zi = signal.sosfilt_zi(sos)[:, None, :] * x[None, :, :1]
    y, zf = signal.sosfilt(sos, x, axis=-1, zi=zi)
    return np.asarray(y), np.asarray(zf)


def detect(
    state: FallState, acc: Array, config: FallConfig = FallConfig()
) -> tuple[FallState, list[FallEvent]]:
    """Consume ``acc`` (streams, samples, 3) in g on the ``config.rate_hz`` grid.

    Returns the new state and the falls decided within this block, in time order.
    """
    acc = np.asarray(acc, dtype=np.float64)
    if acc.ndim != 3 or acc.shape[0] != state.streams or acc.shape[2] != 3:
        raise ValueError(f"expected ({state.streams}, n, 3) samples, got {acc.shape}")
    if not np.isfinite(acc).all():
        raise ValueError("samples must be finite (drop or resample NaN/inf first)")
    streams, n, _ = acc.shape
    if n == 0:
        return state, []
    x = acc.transpose(0, 2, 1).reshape(streams * 3, n)
    posture, zi_p = _filter(config.posture_sos, x, state.zi_posture, state.primed)
    reference, zi_r = _filter(config.reference_sos, x, state.zi_reference, state.primed)
    posture = posture.reshape(streams, 3, n)
    reference = reference.reshape(streams, 3, n)
    magnitude = np.sqrt(np.einsum("snk,snk->sn", acc, acc))

    s = replace(
        state,
        primed=True,
        zi_posture=zi_p,
        zi_reference=zi_r,
        consumed=state.consumed + n,
        pending=state.pending.copy(),
        started_at=state.started_at.copy(),
        impact_at=state.impact_at.copy(),
        peak=state.peak.copy(),
        before=state.before.copy(),
        still_n=state.still_n.copy(),
        still_sum=state.still_sum.copy(),
        still_sq=state.still_sq.copy(),
    )
    events = _step_samples(s, state.consumed, magnitude, posture, reference, config)
    return s, events


def _step_samples(
    s: FallState,
    consumed: NDArray[np.int64],
    magnitude: Array,
    posture: Array,
    reference: Array,
    config: FallConfig,
) -> list[FallEvent]:
    peak_window = config.samples(config.peak_window_s)
    still_from = config.samples(config.still_from_s)
    settle = config.samples(config.settle_s)
    cos_limit = np.cos(np.radians(config.min_angle_deg))
    events: list[FallEvent] = []
    for k in range(magnitude.shape[1]):
        now = consumed + k  # absolute sample index per stream
        m = magnitude[:, k]
        over = m >= config.impact_g
        in_window = s.pending & (now - s.started_at < peak_window)
        # Still looking for the peak of this impact.
        higher = in_window & (m > s.peak)
        s.peak[higher] = m[higher]
        s.impact_at[higher] = now[higher]
        # A crossing outside the peak window starts a new candidate (replacing a pending one).
        start = over & ~in_window
        if start.any():
            s.pending[start] = True
            s.started_at[start] = now[start]
            s.impact_at[start] = now[start]
            s.peak[start] = m[start]
            s.before[start] = reference[start, :, k]
            s.still_n[start] = s.still_sum[start] = s.still_sq[start] = 0.0
        after = now - s.impact_at
        collect = s.pending & (after >= still_from) & (after <= settle)
        if collect.any():
            s.still_n[collect] += 1
            s.still_sum[collect] += m[collect]
            s.still_sq[collect] += m[collect] ** 2
        decide = s.pending & (after == settle)
        if decide.any():
            events += _decide(s, decide, posture[:, :, k], now, cos_limit, config)
    return events


def _decide(
    s: FallState,
    decide: NDArray[np.bool_],
    posture_now: Array,
    now: NDArray[np.int64],
    cos_limit: float,
    config: FallConfig,
) -> list[FallEvent]:
    idx = np.flatnonzero(decide)
    s.pending[idx] = False
    before, after = s.before[idx], posture_now[idx]
    norms = np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1)
    cos = np.einsum("ij,ij->i", before, after) / np.maximum(norms, 1e-9)
    n = np.maximum(s.still_n[idx], 1.0)
    mean = s.still_sum[idx] / n
    std = np.sqrt(np.maximum(s.still_sq[idx] / n - mean**2, 0.0))
    fall = (cos <= cos_limit) & (std <= config.max_still_g)
    rate = config.rate_hz
    return [
        FallEvent(
            stream=int(i),
            t_impact=float(s.t_start[i] + s.impact_at[i] / rate),
            t_detect=float(s.t_start[i] + now[i] / rate),
            peak_g=float(s.peak[i]),
            angle_deg=float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))),
            stillness_g=float(sd),
        )
        for i, c, sd, ok in zip(idx, cos, std, fall, strict=True)
        if ok
    ]
