"""Fall detection for a waist-worn triaxial accelerometer, vectorised across streams.

The physics of a fall, as four features of one candidate:

1. **Impact**: the acceleration magnitude ``|a|`` exceeds ``impact_g``, which starts a
   candidate; its impact is the largest magnitude (``peak_g``) within ``peak_window_s`` of the
   first crossing.
2. **Change of orientation** relative to the posture before: the angle (``angle_deg``)
   between the gravity direction before the fall (a slow low-pass of ``a``, frozen when the
   candidate starts, so the fall's own motion barely moves it) and the gravity direction
   ``settle_s`` after the impact (a faster low-pass). Angles between vectors do not depend on
   how the device is rotated on the belt.
3. **Lying still** afterwards: the standard deviation of ``|a|`` (``stillness_g``) from
   ``still_from_s`` to ``settle_s`` after the impact.
4. **Falling before the impact**: the velocity lost to free fall, the integral of
   ``max(0, 1 g - |a|)`` over the ``velocity_window_s`` before the impact sample
   (``velocity_change_gs``, g s; 1 g s is 9.81 m/s). Lying down quickly (SisFall D13) has an
   impact, a new orientation and stillness, but little free fall before it.

A candidate is a fall when it passes a pre-gate, ``angle_deg >= min_angle_deg`` and
``stillness_g <= max_still_g``, and its logistic score reaches ``score_cutoff``. The score is
``score_bias + sum(w_j * (f_j - mean_j) / scale_j)`` over the features
``f = (ln peak_g, angle_deg, ln max(stillness_g, 1 mg), velocity_change_gs)``; see
:func:`fall_score`, which is plain float arithmetic in a fixed order, so anything scoring a
candidate with it decides exactly as the detector does.

A new crossing after the peak window replaces a pending candidate: a later impact is the one
that matters (a stumble followed by the fall), and it already means the wearer was not still.

Everything runs on a fixed internal grid (``rate_hz``; see :mod:`gateway.detect.resample`
for irregular or other-rate input). The per-sample loop below steps all streams at once;
filters run over whole blocks with ``scipy.signal.sosfilt`` and carried state, and the
last ``velocity_window_s`` of ``max(0, 1 - |a|)`` is carried from block to block, so the
velocity change at an impact is the same sum of the same samples however the input was cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy import signal

Array = NDArray[np.float64]


Features = tuple[float, float, float, float]

FEATURES = ("ln_peak_g", "angle_deg", "ln_stillness_g", "velocity_change_gs")
STILL_FLOOR_G = 1e-3  # stillness below 1 mg is all the same: a device lying on the floor


@dataclass(frozen=True)
class FallConfig:
    """Parameters, in g, degrees, seconds and Hz, and the fall score.

    The pre-gate (``min_angle_deg``, ``max_still_g``) is fixed and loose; the score decides.
    ``feature_mean``, ``feature_scale``, ``score_weights`` and ``score_bias`` are a
    class-balanced, L2-penalised logistic regression over the gated candidates of ALL SisFall
    subjects (every candidate labelled by its trial), and ``score_cutoff`` maximises
    sensitivity + specificity of trial alarms on the same subjects. Reproduce them with
    ``python -m gateway.evaluate_sisfall`` (the "fitted on all subjects" lines); its
    leave-subjects-out figures refit them per fold, so they are the honest ones.
    """

    rate_hz: float = 50.0
    impact_g: float = 1.8
    min_angle_deg: float = 30.0  # pre-gate
    max_still_g: float = 0.5  # pre-gate
    peak_window_s: float = 1.0
    still_from_s: float = 1.0
    settle_s: float = 2.5
    velocity_window_s: float = 1.0  # free fall integrated over this long before the impact
    posture_hz: float = 1.0  # low-pass for the posture after the fall
    reference_hz: float = 0.1  # slower low-pass for the posture before it
    # Fitted on all SisFall subjects; order as FEATURES.
    feature_mean: Features = (
        1.5705816096582383,
        89.60772178309995,
        -4.433675540725081,
        0.14725189869866442,
    )
    feature_scale: Features = (
        0.4547272599151781,
        14.485940155964665,
        0.7450412460952449,
        0.0570152415157492,
    )
    score_weights: Features = (
        3.156150001582012,
        1.038570029268374,
        -0.2599810407193386,
        0.7798528180453933,
    )
    score_bias: float = 4.319031321500246
    score_cutoff: float = -2.878651879818637

    def __post_init__(self) -> None:
        if not 10 <= self.rate_hz <= 400:
            raise ValueError(f"rate_hz {self.rate_hz} outside 10..400 Hz")
        if not 0 < self.still_from_s < self.settle_s:
            raise ValueError("need 0 < still_from_s < settle_s")
        if self.peak_window_s >= self.settle_s:
            raise ValueError("need peak_window_s < settle_s")
        if self.impact_g <= 1.0:
            raise ValueError("impact_g must exceed 1 g")
        if self.velocity_window_s <= 0:
            raise ValueError("velocity_window_s must be positive")
        if not all(sd > 0 for sd in self.feature_scale):
            raise ValueError("feature_scale must be positive")

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
    velocity_change_gs: float  # g s, free fall in the velocity window before the impact
    score: float  # fall_score of the features; a fall has score >= score_cutoff


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
    velocity: Array = field(default_factory=lambda: np.zeros(0))  # g s, frozen at the impact
    # max(0, 1 - |a|) of the last velocity_window_s samples, oldest first; sized when primed.
    deficit: Array = field(default_factory=lambda: np.zeros((0, 0)))

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
        velocity=np.zeros(n),
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
        velocity=state.velocity.copy(),
    )
    # Before a stream's first sample nothing fell: the window starts as zeros.
    window = config.samples(config.velocity_window_s)
    history = state.deficit if state.primed else np.zeros((streams, window))
    deficit = np.concatenate([history, np.maximum(0.0, 1.0 - magnitude)], axis=1)
    s.deficit = deficit[:, -window:].copy()
    events = _step_samples(s, state.consumed, magnitude, deficit, posture, reference, config)
    return s, events


def _step_samples(
    s: FallState,
    consumed: NDArray[np.int64],
    magnitude: Array,
    deficit: Array,
    posture: Array,
    reference: Array,
    config: FallConfig,
) -> list[FallEvent]:
    """Step all streams sample by sample; ``deficit`` holds the window's history first."""
    window = deficit.shape[1] - magnitude.shape[1]
    peak_window = config.samples(config.peak_window_s)
    still_from = config.samples(config.still_from_s)
    settle = config.samples(config.settle_s)
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
        moved = higher | start
        if moved.any():
            # Freeze the velocity change at the (new) impact sample: the window before it,
            # summed in time order, the same floats however the blocks were cut.
            i = np.flatnonzero(moved)
            s.velocity[i] = deficit[i, k : k + window].sum(axis=1) / config.rate_hz
        after = now - s.impact_at
        collect = s.pending & (after >= still_from) & (after <= settle)
        if collect.any():
            s.still_n[collect] += 1
            s.still_sum[collect] += m[collect]
            s.still_sq[collect] += m[collect] ** 2
        decide = s.pending & (after == settle)
        if decide.any():
            events += _decide(s, decide, posture[:, :, k], now, config)
    return events


def fall_score(
    config: FallConfig,
    peak_g: float,
    angle_deg: float,
    stillness_g: float,
    velocity_change_gs: float,
) -> float:
    """The logistic score of one candidate (log-odds of a fall, before the cut-off).

    Parameters
    ----------
    config : FallConfig
        Supplies ``feature_mean``, ``feature_scale``, ``score_weights`` and ``score_bias``.
    peak_g : float
        Largest ``|a|`` of the impact, g (> 0).
    angle_deg : float
        Change of orientation, degrees.
    stillness_g : float
        Standard deviation of ``|a|`` afterwards, g; floored at ``STILL_FLOOR_G``.
    velocity_change_gs : float
        Free fall before the impact, g s.
    """
    score = config.score_bias
    raw = feature_values(peak_g, angle_deg, stillness_g, velocity_change_gs)
    for f, mean, scale, w in zip(
        raw, config.feature_mean, config.feature_scale, config.score_weights, strict=True
    ):
        score += w * ((f - mean) / scale)
    return score


def feature_values(
    peak_g: float, angle_deg: float, stillness_g: float, velocity_change_gs: float
) -> Features:
    """The score's features, in ``FEATURES`` order (logs of g, degrees, g s)."""
    still = max(stillness_g, STILL_FLOOR_G)
    return (math.log(peak_g), angle_deg, math.log(still), velocity_change_gs)


def _decide(
    s: FallState,
    decide: NDArray[np.bool_],
    posture_now: Array,
    now: NDArray[np.int64],
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
    rate = config.rate_hz
    events = []
    for i, c, sd in zip(idx.tolist(), cos.tolist(), std.tolist(), strict=True):
        angle = math.degrees(math.acos(min(max(c, -1.0), 1.0)))
        if angle < config.min_angle_deg or sd > config.max_still_g:
            continue  # the pre-gate
        peak, velocity = float(s.peak[i]), float(s.velocity[i])
        score = fall_score(config, peak, angle, sd, velocity)
        if score >= config.score_cutoff:
            events.append(
                FallEvent(
                    stream=i,
                    t_impact=float(s.t_start[i] + s.impact_at[i] / rate),
                    t_detect=float(s.t_start[i] + now[i] / rate),
                    peak_g=peak,
                    angle_deg=angle,
                    stillness_g=sd,
                    velocity_change_gs=velocity,
                    score=score,
                )
            )
    return events
