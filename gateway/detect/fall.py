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

A gated candidate scoring below ``score_cutoff`` but at least ``confirm_cutoff`` (a faint
onto the floor: a soft impact, little free fall) is held: ``confirm_s`` after its impact it
is a fall, with the features it had, if the posture (the faster low-pass) is still within
``confirm_angle_deg`` of the posture at ``settle_s``. Rolling from the back onto the side and
back, or lying down and getting up again, look like such a fall at ``settle_s`` (a recording
that starts lying gives no upright posture to compare with), but the wearer does not stay
down. A held candidate is no longer superseded by a larger impact: a knock while lying does
not cancel the fall; a change of posture does.

When a stream ends (the end of a recording, a wearable that stops sending, a detector that is
restarted) :func:`finish` decides the candidates still held by the same rule on the last
sample consumed, if that is at least ``end_min_s`` after the impact: a faint in the last
``confirm_s`` of a clip, or just before the wearable's radio died, is still a fall.

A new crossing after the peak window starts a new candidate *beside* a pending one. A pending
candidate whose impact is weaker than the new one's (so far) is dropped: the stumble before
the fall, or a run of jogging steps, is superseded by the larger impact that follows. One
whose impact is larger stays and is decided on its own features: a fall's hard impact
followed more than ``peak_window_s`` later by a smaller bounce or a roll onto the back used to
be replaced by that bounce, judged with a weak peak and the orientation of the moment before
the bounce, and missed (SisFall F01-F03 slips with 4-8 g impacts). Candidates start at least
``peak_window_s`` apart and live at most ``peak_window_s + confirm_s``, so ``SLOTS`` of them
per stream, used round robin, never overwrite a pending one (checked in :class:`FallConfig`).

Everything runs on a fixed internal grid (``rate_hz``; see :mod:`gateway.detect.resample`
for irregular or other-rate input). The per-sample loop below steps all streams at once;
filters run over whole blocks with ``scipy.signal.sosfilt`` and carried state, and the
last ``velocity_window_s`` of ``max(0, 1 - |a|)`` and the last ``settle_s - still_from_s`` of
``|a|`` are carried from block to block, so the velocity change at an impact and the stillness
after it are the same sums of the same samples however the input was cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy import signal

Array = NDArray[np.float64]
Ints = NDArray[np.int64]
Index = NDArray[np.intp]


Features = tuple[float, float, float, float]

FEATURES = ("ln_peak_g", "angle_deg", "ln_stillness_g", "velocity_change_gs")
STILL_FLOOR_G = 1e-3  # stillness below 1 mg is all the same: a device lying on the floor
SLOTS = 8  # candidates pending at once per stream, at most


@dataclass(frozen=True)
class FallConfig:
    """Parameters, in g, degrees, seconds and Hz, and the fall score.

    The pre-gate (``min_angle_deg``, ``max_still_g``) is fixed and loose; the score decides.
    ``feature_mean``, ``feature_scale``, ``score_weights`` and ``score_bias`` are a
    class-balanced, L2-penalised logistic regression over the gated candidates of ALL SisFall
    subjects (every candidate labelled by its trial), and ``score_cutoff`` and
    ``confirm_cutoff`` are the pair maximising sensitivity + specificity of trial alarms on
    the same subjects, with at most 5 % of the falls waiting for confirmation. Reproduce them
    with ``python -m gateway.evaluate_sisfall`` (the "fitted on all subjects" lines); its
    leave-subjects-out figures refit them per fold, so they are the honest ones.

    ``confirm_s`` and ``confirm_angle_deg`` are not fitted: after a fall the wearer stays
    down for longer than 6 s, while rolling over in bed (back to side and back), lying down
    and getting up again, or sitting down hard and leaning back change the posture again
    within seconds. A fall whose score is clear is still decided at ``settle_s``.
    ``end_min_s`` is not fitted either (3.5, 4 and 4.5 s were compared on SisFall; all
    kept the gains, 4 s the fewest false alarms for the same sensitivity): the evidence a
    stream that ends early must hold before a held candidate is decided by :func:`finish`.
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
        1.5724469329582036,
        89.54640199312837,
        -4.412376799449474,
        0.14787780432089687,
    )
    feature_scale: Features = (
        0.4547611832572017,
        14.475502512774895,
        0.780136867725095,
        0.05746768339618045,
    )
    score_weights: Features = (
        3.145643220401453,
        1.0134058439960774,
        -0.24221489171071245,
        0.7877235905605584,
    )
    score_bias: float = 4.315056426753011
    score_cutoff: float = -0.2659438832586855
    # A gated candidate scoring below score_cutoff but at least confirm_cutoff is decided
    # again confirm_s after its impact: a fall if the posture then is within
    # confirm_angle_deg of the posture at settle_s (the wearer stayed down).
    confirm_cutoff: float = -4.721634151554067
    confirm_s: float = 6.0
    confirm_angle_deg: float = 20.0
    # A stream that ends decides a held candidate only if it saw the wearer down this long
    # after the impact: a roll onto the side in the last seconds of a stream (SisFall D13,
    # D14) has not yet had the time to roll back, so its posture there proves nothing.
    end_min_s: float = 4.0

    def __post_init__(self) -> None:
        if not 10 <= self.rate_hz <= 400:
            raise ValueError(f"rate_hz {self.rate_hz} outside 10..400 Hz")
        if not 0 < self.still_from_s < self.settle_s:
            raise ValueError("need 0 < still_from_s < settle_s")
        if self.peak_window_s >= self.settle_s:
            raise ValueError("need peak_window_s < settle_s")
        if self.confirm_s <= self.settle_s:
            raise ValueError("need confirm_s > settle_s")
        if self.confirm_s >= (SLOTS - 1) * self.peak_window_s:
            raise ValueError(f"need confirm_s < {SLOTS - 1} * peak_window_s: {SLOTS} slots")
        if self.impact_g <= 1.0:
            raise ValueError("impact_g must exceed 1 g")
        if self.velocity_window_s <= 0:
            raise ValueError("velocity_window_s must be positive")
        if not all(sd > 0 for sd in self.feature_scale):
            raise ValueError("feature_scale must be positive")

    def samples(self, seconds: float) -> int:
        return max(1, round(seconds * self.rate_hz))

    @property
    def velocity_samples(self) -> int:
        """Samples of free fall summed before an impact."""
        return self.samples(self.velocity_window_s)

    @property
    def still_samples(self) -> int:
        """Samples from ``still_from_s`` to ``settle_s`` after an impact, both included."""
        return self.samples(self.settle_s) - self.samples(self.still_from_s) + 1

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
    """Per-stream state; every array's first axis is the stream, a candidate's second its slot.

    ``newest`` is the slot of each stream's latest candidate, ``started_at`` its first
    crossing and ``latest_peak`` its peak so far: only the latest one can still be looking for
    its peak. ``next_decision`` is the sample at which the earliest pending candidate is
    decided (``NEVER`` without one), so a sample costs one comparison per stream.
    """

    t_start: Array  # s, time of each stream's sample 0
    consumed: NDArray[np.int64]  # samples consumed so far
    primed: bool = False  # filters are started from the first sample seen
    zi_posture: Array = field(default_factory=lambda: np.zeros(0))
    zi_reference: Array = field(default_factory=lambda: np.zeros(0))
    newest: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    started_at: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    latest_peak: Array = field(default_factory=lambda: np.zeros(0))
    next_decision: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    pending: NDArray[np.bool_] = field(default_factory=lambda: np.zeros((0, SLOTS), bool))
    impact_at: NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, SLOTS), np.int64))
    peak: Array = field(default_factory=lambda: np.zeros((0, SLOTS)))
    before: Array = field(default_factory=lambda: np.zeros((0, SLOTS, 3)))
    velocity: Array = field(default_factory=lambda: np.zeros((0, SLOTS)))  # g s, at the impact
    # A candidate waiting for its confirmation: its posture and features at settle_s.
    confirming: NDArray[np.bool_] = field(default_factory=lambda: np.zeros((0, SLOTS), bool))
    settled: Array = field(default_factory=lambda: np.zeros((0, SLOTS, 3)))
    angle: Array = field(default_factory=lambda: np.zeros((0, SLOTS)))
    stillness: Array = field(default_factory=lambda: np.zeros((0, SLOTS)))
    score: Array = field(default_factory=lambda: np.zeros((0, SLOTS)))
    # max(0, 1 - |a|) of the last velocity_window_s samples, oldest first; sized when primed.
    deficit: Array = field(default_factory=lambda: np.zeros((0, 0)))
    # |a| of the samples before this block that a stillness window may still need.
    recent: Array = field(default_factory=lambda: np.zeros((0, 0)))
    # g, the posture (faster low-pass) at the last sample consumed: what finish() decides on.
    last_posture: Array = field(default_factory=lambda: np.zeros((0, 3)))

    @property
    def streams(self) -> int:
        return len(self.t_start)


NEVER = np.iinfo(np.int64).max // 2  # sample index of "no decision pending"


def initial_state(t_start: Array | list[float]) -> FallState:
    """A fresh state for ``len(t_start)`` streams whose first samples fall at ``t_start``."""
    starts = np.asarray(t_start, dtype=np.float64).reshape(-1)
    n = len(starts)
    return FallState(
        t_start=starts,
        consumed=np.zeros(n, np.int64),
        newest=np.zeros(n, np.intp),
        started_at=np.full(n, -NEVER, np.int64),  # no peak window open
        latest_peak=np.zeros(n),
        next_decision=np.full(n, NEVER, np.int64),
        pending=np.zeros((n, SLOTS), bool),
        impact_at=np.zeros((n, SLOTS), np.int64),
        peak=np.zeros((n, SLOTS)),
        before=np.zeros((n, SLOTS, 3)),
        velocity=np.zeros((n, SLOTS)),
        confirming=np.zeros((n, SLOTS), bool),
        settled=np.zeros((n, SLOTS, 3)),
        angle=np.zeros((n, SLOTS)),
        stillness=np.zeros((n, SLOTS)),
        score=np.zeros((n, SLOTS)),
        last_posture=np.zeros((n, 3)),
    )


def _filter(sos: Array, x: Array, zi: Array, primed: bool) -> tuple[Array, Array]:
    """Low-pass ``x`` (streams*3, n) along time, starting at rest on the first sample."""
    if not primed:
        zi = signal.sosfilt_zi(sos)[:, None, :] * x[None, :, :1]
    y, zf = signal.sosfilt(sos, x, axis=-1, zi=zi)
    return np.asarray(y), np.asarray(zf)


def _with_history(history: Array, block: Array, keep: int, primed: bool) -> tuple[Array, Array]:
    """``block`` (streams, n) after the ``keep`` samples before it, and the new history.

    Before a stream's first sample the history is zeros (nothing fell; no window reaches
    back that far).
    """
    before = history if primed else np.zeros((len(block), keep))
    joined = np.concatenate([before, block], axis=1)
    return joined, joined[:, joined.shape[1] - keep :].copy()


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
    magnitude = np.sqrt(np.einsum("snk,snk->sn", acc, acc))
    deficit, deficit_kept = _with_history(
        state.deficit, np.maximum(0.0, 1.0 - magnitude), config.velocity_samples, state.primed
    )
    recent, recent_kept = _with_history(
        state.recent, magnitude, config.still_samples - 1, state.primed
    )
    s = replace(
        state,
        primed=True,
        zi_posture=zi_p,
        zi_reference=zi_r,
        consumed=state.consumed + n,
        newest=state.newest.copy(),
        started_at=state.started_at.copy(),
        latest_peak=state.latest_peak.copy(),
        next_decision=state.next_decision.copy(),
        pending=state.pending.copy(),
        impact_at=state.impact_at.copy(),
        peak=state.peak.copy(),
        before=state.before.copy(),
        velocity=state.velocity.copy(),
        confirming=state.confirming.copy(),
        settled=state.settled.copy(),
        angle=state.angle.copy(),
        stillness=state.stillness.copy(),
        score=state.score.copy(),
        deficit=deficit_kept,
        recent=recent_kept,
        last_posture=posture.reshape(streams, 3, n)[:, :, -1].copy(),
    )
    block = _Block(
        magnitude,
        deficit,
        recent,
        posture.reshape(streams, 3, n),
        reference.reshape(streams, 3, n),
        config,
    )
    return s, _step_samples(s, state.consumed, block)


def finish(
    state: FallState, config: FallConfig = FallConfig()
) -> tuple[FallState, list[FallEvent]]:
    """The streams end: decide every candidate still waiting for its confirmation.

    A held candidate is a fall if the posture at the last sample consumed is still within
    ``confirm_angle_deg`` of the posture at ``settle_s``: the rule of ``confirm_s``, applied
    early, with ``t_detect`` the time of that last sample. A recording that ends, or a
    wearable that stops streaming, before ``confirm_s`` would otherwise lose a soft fall
    forever. Only a candidate whose impact is at least ``end_min_s`` before that sample is
    decided; a younger one, and a candidate not yet settled (without ``settle_s`` of samples
    there is no posture or stillness to judge), stay pending in the returned state, and a
    stream that has ended drops them.

    Parameters
    ----------
    state : FallState
        From :func:`detect`; not modified.
    config : FallConfig, optional
        The configuration ``state`` was built with.

    Returns
    -------
    state : FallState
        ``state`` without the decided candidates (feeding more samples is allowed, but the
        stream no longer carries them).
    events : list of FallEvent
        The confirmed falls, by stream, then impact.
    """
    last = state.consumed - 1
    seen = last[:, None] - state.impact_at >= config.samples(config.end_min_s)
    held = state.pending & state.confirming & seen
    if not held.any():
        return state, []
    idx, slot = np.nonzero(held)
    angles = _angles(state.settled[idx, slot], state.last_posture[idx])
    events = [
        _event(
            state, i, j, last, config, float(state.angle[i, j]), float(state.stillness[i, j]), score
        )
        for i, j, moved, score in zip(
            idx.tolist(), slot.tolist(), angles, state.score[idx, slot].tolist(), strict=True
        )
        if moved <= config.confirm_angle_deg
    ]
    s = replace(state, pending=state.pending & ~held, confirming=state.confirming & ~held)
    streams = np.unique(idx)
    s.next_decision = state.next_decision.copy()
    s.next_decision[streams] = _next_decision(s, streams, config)
    return s, sorted(events, key=lambda e: (e.stream, e.t_impact))


@dataclass(frozen=True)
class _Block:
    """One block's signals; ``deficit`` and ``recent`` start with the carried history."""

    magnitude: Array  # (streams, n) g
    deficit: Array  # (streams, velocity_samples + n): max(0, 1 - |a|)
    recent: Array  # (streams, still_samples - 1 + n): |a|
    posture: Array  # (streams, 3, n) g, the fast low-pass
    reference: Array  # (streams, 3, n) g, the slow low-pass
    config: FallConfig


def _step_samples(s: FallState, consumed: Ints, b: _Block) -> list[FallEvent]:
    """Step all streams sample by sample: per sample a few operations per stream, the rest
    only for the streams whose candidates start, move or are decided there."""
    config = b.config
    peak_window = config.samples(config.peak_window_s)
    events: list[FallEvent] = []
    for k in range(b.magnitude.shape[1]):
        now = consumed + k  # absolute sample index per stream
        m = b.magnitude[:, k]
        # The latest candidate is still looking for the peak of its impact...
        in_window = now - s.started_at < peak_window
        higher = in_window & (m > s.latest_peak)
        # ...and a crossing outside its peak window starts a candidate in the next slot.
        start = (m >= config.impact_g) & ~in_window
        moved = higher | start
        if moved.any():
            _move(s, np.flatnonzero(moved), start, now, k, b)
        decide = now == s.next_decision
        while decide.any():  # a settling and a confirming candidate may share a sample
            events += _decide(s, np.flatnonzero(decide), now, k, b)
            decide = now == s.next_decision
    return events


def _move(s: FallState, i: Index, start: NDArray[np.bool_], now: Ints, k: int, b: _Block) -> None:
    """Streams ``i`` have a new impact at sample ``k``: a new candidate or a higher peak."""
    m, window = b.magnitude[:, k], b.config.velocity_samples
    new = start[i]
    j = np.where(new, (s.newest[i] + 1) % SLOTS, s.newest[i])
    s.newest[i] = j
    fresh, slot = i[new], j[new]
    s.started_at[fresh] = now[fresh]
    s.pending[fresh, slot] = True
    s.confirming[fresh, slot] = False
    s.before[fresh, slot] = b.reference[fresh, :, k]
    s.peak[i, j] = s.latest_peak[i] = m[i]
    s.impact_at[i, j] = now[i]
    # The velocity change at the impact sample: the window before it, summed in time order,
    # the same floats however the blocks were cut.
    s.velocity[i, j] = b.deficit[i, k : k + window].sum(axis=1) / b.config.rate_hz
    # An earlier candidate whose impact was weaker is superseded by the larger one, unless
    # it was decided already and only waits for its confirmation.
    weaker = (s.peak[i] < m[i, None]) & ~s.confirming[i]
    weaker[np.arange(len(i)), j] = False
    s.pending[i] &= ~weaker
    s.next_decision[i] = _next_decision(s, i, b.config)


def _due(s: FallState, i: Index, config: FallConfig) -> Ints:
    """(len(i), SLOTS) sample at which each candidate of streams ``i`` is (next) decided."""
    settle, confirm = config.samples(config.settle_s), config.samples(config.confirm_s)
    return np.asarray(s.impact_at[i] + np.where(s.confirming[i], confirm, settle))


def _next_decision(s: FallState, i: Index, config: FallConfig) -> Ints:
    return np.asarray(np.where(s.pending[i], _due(s, i, config), NEVER).min(axis=1))


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


def _angles(u: Array, v: Array) -> list[float]:
    """Degrees between the rows of ``u`` and ``v`` (n, 3)."""
    norms = np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1)
    cos = np.einsum("ij,ij->i", u, v) / np.maximum(norms, 1e-9)
    return [math.degrees(math.acos(min(max(c, -1.0), 1.0))) for c in cos.tolist()]


def _decide(s: FallState, idx: Index, now: Ints, k: int, b: _Block) -> list[FallEvent]:
    """Decide one candidate of each stream ``idx`` that is due at sample ``k``: a candidate
    settling (``settle_s`` after its impact) or one waiting for its confirmation."""
    config = b.config
    # Impacts of one stream lie on distinct samples, so at most one settling and one
    # confirming candidate per stream are due; one is taken per call.
    slot = np.argmax(s.pending[idx] & (_due(s, idx, config) == now[idx, None]), axis=1)
    confirm = s.confirming[idx, slot]
    events = _confirm(s, idx[confirm], slot[confirm], now, k, b)
    events += _settle(s, idx[~confirm], slot[~confirm], now, k, b)
    s.next_decision[idx] = _next_decision(s, idx, config)
    return sorted(events, key=lambda e: e.stream)


def _settle(s: FallState, idx: Index, slot: Index, now: Ints, k: int, b: _Block) -> list[FallEvent]:
    """Candidates ``slot`` of streams ``idx``, ``settle_s`` after their impact: a fall, not
    one, or (scoring between the cut-offs) held for confirmation."""
    config = b.config
    s.pending[idx, slot] = False
    after = b.posture[idx, :, k]
    angles = _angles(s.before[idx, slot], after)
    # |a| from still_from_s to settle_s after the impact: the last still_samples samples.
    std = b.recent[idx, k : k + config.still_samples].std(axis=1).tolist()
    events = []
    for n, (i, j) in enumerate(zip(idx.tolist(), slot.tolist(), strict=True)):
        angle, sd = angles[n], std[n]
        if angle < config.min_angle_deg or sd > config.max_still_g:
            continue  # the pre-gate
        score = fall_score(config, float(s.peak[i, j]), angle, sd, float(s.velocity[i, j]))
        if score >= config.score_cutoff:
            events.append(_event(s, i, j, now, config, angle, sd, score))
        elif score >= config.confirm_cutoff:
            s.pending[i, j] = s.confirming[i, j] = True
            s.settled[i, j] = after[n]
            s.angle[i, j], s.stillness[i, j], s.score[i, j] = angle, sd, score
    return events


def _confirm(
    s: FallState, idx: Index, slot: Index, now: Ints, k: int, b: _Block
) -> list[FallEvent]:
    """Candidates ``slot`` of streams ``idx``, ``confirm_s`` after their impact: a fall if
    the wearer is still in the posture reached at ``settle_s``."""
    config = b.config
    s.pending[idx, slot] = s.confirming[idx, slot] = False
    angles = _angles(s.settled[idx, slot], b.posture[idx, :, k])
    return [
        _event(s, i, j, now, config, float(s.angle[i, j]), float(s.stillness[i, j]), score)
        for i, j, moved, score in zip(
            idx.tolist(), slot.tolist(), angles, s.score[idx, slot].tolist(), strict=True
        )
        if moved <= config.confirm_angle_deg
    ]


def _event(
    s: FallState,
    i: int,
    j: int,
    now: Ints,
    config: FallConfig,
    angle: float,
    stillness: float,
    score: float,
) -> FallEvent:
    rate = config.rate_hz
    return FallEvent(
        stream=i,
        t_impact=float(s.t_start[i] + s.impact_at[i, j] / rate),
        t_detect=float(s.t_start[i] + now[i] / rate),
        peak_g=float(s.peak[i, j]),
        angle_deg=angle,
        stillness_g=stillness,
        velocity_change_gs=float(s.velocity[i, j]),
        score=score,
    )
