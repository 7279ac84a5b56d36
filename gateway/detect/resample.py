"""Irregular accelerometer samples onto the fall detector's fixed grid, streaming, one wearer.

A wearable's samples arrive at 20..400 Hz, unevenly spaced, with dropouts, repeated
timestamps and invalid readings. :func:`resample` turns them into *segments* of samples at
exactly ``rate_hz``: grid sample ``k`` of a segment lies at ``anchor + k / rate_hz``, where
``anchor`` is the time of the segment's first input sample. Times are always computed from the
integer ``k`` and never accumulated, so they are the same floats however the input was cut.

Each grid sample takes the mean of the input samples in its cell
``[t - 0.5 / rate_hz, t + 0.5 / rate_hz)`` when the cell holds two or more (input faster than
the grid: a short impact peak is kept rather than stepped over), and the linear interpolation
of the two input samples around ``t`` otherwise. A grid sample is emitted only once its cell
is complete, i.e. once an input sample at or after the cell's end has arrived, so feeding the
input in any chunks gives bit-for-bit the segments of feeding it whole.

Input rules: a row with a NaN or infinite value is dropped (``dropped_nan``); a row repeating
the previous valid timestamp is dropped (``dropped_duplicates``); a timestamp before the
previous valid one raises :class:`TimeOrderError`. A step longer than ``max_gap_s`` between
consecutive valid samples ends the segment (its last grid samples up to the last input sample
are emitted then) and starts a new one at the sample after the gap (``gaps``); nothing is
interpolated across a gap, and the detector restarts on the new segment.

:class:`WearerStream` chains the resampler and :func:`gateway.detect.fall.detect` for one
wearer; the gateway and ``python -m gateway.replay`` both run it. Its ``finish`` ends the
stream (:func:`flush`, then :func:`gateway.detect.fall.finish`), as a gap ends a segment.

Exception tree::

    ValueError
     └── TimeOrderError   a timestamp went backwards: the input is unusable as it stands
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gateway.detect.fall import FallConfig, FallEvent, FallState, detect, finish, initial_state

Array = NDArray[np.float64]
# Silence (receiver's clock) after which a wearer's sample stream has ended (``finish``), at a
# gateway and at the centre alike: longer than any decision waits (confirm_s after an impact)
# plus a late batch, shorter than any cancel window.
STREAM_END_S = FallConfig().confirm_s + 3.0


class TimeOrderError(ValueError):
    """A timestamp is earlier than the previous valid one.

    Attributes
    ----------
    index : int
        Row of the offending sample in the ``t`` passed to :func:`resample`.
    t, previous : float
        Its time and the previous valid sample's time, in seconds.
    """

    def __init__(self, index: int, t: float, previous: float) -> None:
        super().__init__(f"time goes backwards at row {index}: {t!r} s after {previous!r} s")
        self.index = index
        self.t = t
        self.previous = previous


class Segment(NamedTuple):
    """Consecutive grid samples of one segment, emitted by one :func:`resample` call.

    Pieces with the same ``number`` continue each other without a missing grid sample; a new
    ``number`` means a gap came first and the detector must restart.
    """

    t_start: float  # s, time of acc[0]: anchor + k / rate_hz
    acc: Array  # (m, 3) g, at t_start + i / rate_hz
    number: int  # segment number within the stream, 0 for the first


@dataclass(frozen=True)
class ResampleState:
    """What :func:`resample` carries between calls; arrays are never modified in place."""

    rate_hz: float | None = None  # grid rate, fixed by the first call
    segment: int = -1  # index of the current segment, -1 before the first valid sample
    anchor: float = 0.0  # s, time of the current segment's first input sample (grid k = 0)
    next_k: int = 0  # next grid sample of the current segment to emit
    # Valid input samples still needed (the last one is the latest valid sample).
    t: Array = field(default_factory=lambda: np.zeros(0))
    acc: Array = field(default_factory=lambda: np.zeros((0, 3)))
    dropped_nan: int = 0  # rows dropped for a NaN or infinite value
    dropped_duplicates: int = 0  # rows dropped for repeating the previous timestamp
    gaps: int = 0  # segments ended by a step longer than max_gap_s


def initial_resample_state() -> ResampleState:
    """A fresh state for a stream that has not produced any sample yet."""
    return ResampleState()


def resample(
    state: ResampleState,
    t: ArrayLike,
    acc: ArrayLike,
    rate_hz: float,
    *,
    max_gap_s: float = 1.0,
) -> tuple[ResampleState, list[Segment]]:
    """Consume input samples and emit the grid samples whose cells are complete.

    Parameters
    ----------
    state : ResampleState
        From :func:`initial_resample_state` or the previous call.
    t : array_like, shape (n,)
        Sample times in seconds, non-decreasing across calls (NaN rows are dropped first).
    acc : array_like, shape (n, 3)
        Acceleration in g along the device axes.
    rate_hz : float
        Grid rate in Hz; the same on every call of one stream.
    max_gap_s : float, optional
        Longest step in seconds between valid samples that is interpolated over; a longer
        one ends the segment.

    Returns
    -------
    state : ResampleState
        The state to pass to the next call.
    segments : list of Segment
        Grid samples emitted by this call, in time order; may be empty.

    Raises
    ------
    TimeOrderError
        A valid sample's time is before the previous valid sample's; ``state`` is unchanged.
    ValueError
        Bad shapes, a non-positive rate or gap, or a rate different from earlier calls.
    """
    times, values = _validated(state, t, acc, rate_hz, max_gap_s)
    finite = np.isfinite(times) & np.isfinite(values).all(axis=1)
    rows = np.flatnonzero(finite)
    times, values = times[finite], values[finite]
    has_previous = state.segment >= 0
    step = np.diff(times, prepend=state.t[-1] if has_previous else np.nan)
    backwards = np.flatnonzero(step < 0)
    if backwards.size:
        i = int(backwards[0])
        raise TimeOrderError(int(rows[i]), float(times[i]), float(times[i] - step[i]))
    repeated = step == 0
    times, values, step = times[~repeated], values[~repeated], step[~repeated]
    gap = step > max_gap_s
    starts = gap.copy()
    if times.size and not has_previous:
        starts[0] = True
    segment = _Open(state.segment, state.anchor, state.next_k, state.t, state.acc)
    pieces: list[Segment] = []
    for lo, hi in itertools.pairwise([0, *np.flatnonzero(starts).tolist(), len(times)]):
        if lo == hi:
            continue
        if starts[lo]:
            if segment.index >= 0:  # a gap: the old segment is complete up to its last sample
                pieces += segment.emit(rate_hz, final=True)
            segment = _Open(segment.index + 1, float(times[lo]), 0, times[:0], values[:0])
        segment.extend(times[lo:hi], values[lo:hi])
    if segment.index >= 0:
        pieces += segment.emit(rate_hz, final=False)
    new_state = ResampleState(
        rate_hz=rate_hz,
        segment=segment.index,
        anchor=segment.anchor,
        next_k=segment.next_k,
        t=segment.t,
        acc=segment.acc,
        dropped_nan=state.dropped_nan + int(finite.size - rows.size),
        dropped_duplicates=state.dropped_duplicates + int(repeated.sum()),
        gaps=state.gaps + int(gap.sum()),
    )
    return new_state, pieces


def flush(state: ResampleState) -> tuple[ResampleState, list[Segment]]:
    """The input has ended: emit the current segment's grid samples up to its last sample.

    The cells of those samples will get no more input, so they are complete (the same rule as
    for a segment ended by a gap). Returns a state whose next sample starts a new segment,
    carrying the counters.
    """
    if state.segment < 0 or state.rate_hz is None:
        return state, []
    segment = _Open(state.segment, state.anchor, state.next_k, state.t, state.acc)
    pieces = segment.emit(state.rate_hz, final=True)
    ended = ResampleState(
        dropped_nan=state.dropped_nan,
        dropped_duplicates=state.dropped_duplicates,
        gaps=state.gaps,
    )
    return ended, pieces


def _validated(
    state: ResampleState, t: ArrayLike, acc: ArrayLike, rate_hz: float, max_gap_s: float
) -> tuple[Array, Array]:
    times = np.asarray(t, dtype=np.float64)
    values = np.asarray(acc, dtype=np.float64)
    if times.ndim != 1 or values.shape != (times.size, 3):
        raise ValueError(f"expected t (n,) and acc (n, 3), got {times.shape} and {values.shape}")
    if not (math.isfinite(rate_hz) and rate_hz > 0):
        raise ValueError(f"rate_hz must be a positive number of Hz, got {rate_hz}")
    if not max_gap_s > 0:
        raise ValueError(f"max_gap_s must be positive, got {max_gap_s}")
    if state.rate_hz is not None and state.rate_hz != rate_hz:
        raise ValueError(f"rate_hz changed from {state.rate_hz} to {rate_hz} within a stream")
    return times, values


@dataclass
class _Open:
    """The segment being built, as a scratch copy of the state's fields within one call."""

    index: int
    anchor: float
    next_k: int
    t: Array
    acc: Array

    def extend(self, t: Array, acc: Array) -> None:
        self.t = np.concatenate([self.t, t])
        self.acc = np.concatenate([self.acc, acc])

    def _ready(self, k: int, rate_hz: float, final: bool) -> bool:
        """Whether grid sample ``k`` can be emitted from the samples seen so far."""
        latest = float(self.t[-1])
        t_grid = self.anchor + k / rate_hz
        if final:  # no more input for this segment: emit up to its last sample
            return t_grid <= latest
        # Cell complete (no later input can fall in it) and bracketed for interpolation.
        return t_grid < latest and self.anchor + (k + 0.5) / rate_hz <= latest

    def emit(self, rate_hz: float, final: bool) -> list[Segment]:
        """Emit every ready grid sample, then forget input samples no later one needs."""
        k0 = self.next_k
        # Start from an estimate, then settle on the exact boundary with the exact test.
        k1 = max(k0, math.floor((float(self.t[-1]) - self.anchor) * rate_hz))
        while k1 > k0 and not self._ready(k1 - 1, rate_hz, final):
            k1 -= 1
        while self._ready(k1, rate_hz, final):
            k1 += 1
        if k1 == k0:
            return []
        values = _grid_values(self.t, self.acc, self.anchor, np.arange(k0, k1), rate_hz)
        self.next_k = k1
        # Keep the samples of cell k1 onwards and the one at or before grid time k1.
        keep = min(
            int(np.searchsorted(self.t, self.anchor + (k1 - 0.5) / rate_hz, "left")),
            int(np.searchsorted(self.t, self.anchor + k1 / rate_hz, "right")) - 1,
        )
        self.t, self.acc = self.t[keep:].copy(), self.acc[keep:].copy()  # drop the old buffer
        return [Segment(self.anchor + k0 / rate_hz, values, self.index)]


def _grid_values(
    t: Array, acc: Array, anchor: float, k: NDArray[np.int64], rate_hz: float
) -> Array:
    """Grid samples ``k`` (m,) from input ``t`` (p,) s and ``acc`` (p, 3) g: cell mean or lerp.

    Every value depends only on the input samples in its cell or around its time, summed in
    time order, never on where the buffer starts: this is what keeps chunking invisible.
    """
    t_grid = anchor + k / rate_hz
    first = np.searchsorted(t, anchor + (k - 0.5) / rate_hz, "left")
    count = np.searchsorted(t, anchor + (k + 0.5) / rate_hz, "left") - first
    before = np.searchsorted(t, t_grid, "right") - 1  # t[before] <= t_grid
    after = np.minimum(before + 1, t.size - 1)  # == before only when t_grid is the last sample
    span = t[after] - t[before]
    weight = np.divide(t_grid - t[before], span, out=np.zeros_like(t_grid), where=span > 0)
    out = acc[before] + weight[:, None] * (acc[after] - acc[before])
    many = np.flatnonzero(count >= 2)
    if many.size:
        n, start = count[many], first[many]
        total = np.zeros((many.size, 3))
        for i in range(int(n.max())):  # sequential sums: the same floats for any chunking
            more = i < n
            total[more] += acc[start[more] + i]
        out[many] = total / n[:, None]
    return out


class WearerStream:
    """One wearer's fall detector on raw device samples: resampler, then detector.

    Parameters
    ----------
    config : FallConfig, optional
        Detector configuration; its ``rate_hz`` is the grid rate.
    max_gap_s : float, optional
        Longest dropout in seconds bridged by interpolation; after a longer one the detector
        restarts from a fresh state on the next segment.
    """

    def __init__(self, config: FallConfig | None = None, *, max_gap_s: float = 1.0) -> None:
        self.config = config if config is not None else FallConfig()
        self.max_gap_s = max_gap_s
        self.resample_state = initial_resample_state()
        self.fall_state: FallState | None = None
        self._segment = -1

    def feed(self, t: ArrayLike, acc: ArrayLike) -> list[FallEvent]:
        """Consume samples at times ``t`` (n,) s, acceleration ``acc`` (n, 3) g.

        Returns the falls decided with these samples, in time order, with stream times.
        Raises :class:`TimeOrderError` (and changes nothing) if time goes backwards.
        """
        self.resample_state, segments = resample(
            self.resample_state, t, acc, self.config.rate_hz, max_gap_s=self.max_gap_s
        )
        return self._detect(segments)

    def finish(self) -> list[FallEvent]:
        """The stream has ended (end of a file, a wearable gone silent): emit the grid samples
        held back for completing their cells, then decide the held candidates on the last one
        (:func:`gateway.detect.fall.finish`). Samples fed afterwards start a new segment with
        a fresh detector.
        """
        self.resample_state, segments = flush(self.resample_state)
        events = self._detect(segments)
        events += self._finish_detector()
        self._segment = -1
        return events

    def _finish_detector(self) -> list[FallEvent]:
        if self.fall_state is None:
            return []
        _, events = finish(self.fall_state, self.config)
        self.fall_state = None
        return events

    def _detect(self, segments: list[Segment]) -> list[FallEvent]:
        events: list[FallEvent] = []
        for piece in segments:
            if self.fall_state is None or piece.number != self._segment:
                events += self._finish_detector()  # a gap ended the previous segment
                self.fall_state = initial_state([piece.t_start])
                self._segment = piece.number
            self.fall_state, found = detect(self.fall_state, piece.acc[None], self.config)
            events += found
        return events
