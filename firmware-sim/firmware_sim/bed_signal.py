"""Synthetic bed-sensor signals (pressure + ballistocardiogram) with known truth.

One channel, as an under-mattress pressure/load sensor gives it, in arbitrary units scaled so
that a lying resident's static pressure is about 1.0 and an empty bed reads about 0.0:

- **Respiration**: a slow quasi-sinusoid (rate 6-30 breaths/min, 0.1-0.5 Hz), inhalation
  shorter than exhalation (a second harmonic), with depth wandering slowly (sd 25 %, kept
  within 0.55-1.8 of its mean, so no accidental hypopnoea) and the rate wobbling a few per
  cent around its trajectory. Default depth 0.05 (5 % of the static pressure).
- **Heartbeats**: one BCG J-wave complex per beat, a damped oscillation (5-7 Hz, decay about
  0.08 s) of amplitude about 0.01, modulated by respiration (+-15 %) and beat to beat
  (+-10 %). Beat intervals carry heart-rate variability: respiratory sinus arrhythmia
  (+-3 % of the interval) and independent jitter (2 % sd).
- **Movement artefacts**: bursts of large band-limited noise (about 20x the BCG) plus a shift
  of the static pressure (the resident rolls over).
- **Empty bed**: static pressure near 0, sensor noise only. Getting in or out is a 2 s ramp.
- **Apnoea**: respiration depth tapers to 0 over 1 s at the span's start and back at its end;
  the heart keeps beating.
- **Noise**: white Gaussian sensor noise of sd ``noise`` everywhere.

:func:`synthesize` is deterministic for a given seed. Rates may be a constant, a
``(start, end)`` pair (linear over the recording) or a callable of time in seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal

Array = NDArray[np.float64]
Rate = float | tuple[float, float] | Callable[[Array], Array]
Span = tuple[float, float]  # (start_s, duration_s)

RESP_DEPTH = 0.05  # a.u., peak respiration deflection at depth 1
BCG_AMPLITUDE = 0.01  # a.u., J-wave peak
MOVEMENT_AMPLITUDE = 0.2  # a.u., sd of a movement burst


@dataclass(frozen=True)
class BedTruth:
    """Per-second truth; entry ``i`` describes the second ``[i, i + 1)``.

    ``heart_bpm`` and ``resp_bpm`` are the underlying rate trajectories (beats and breaths per
    minute) at the middle of each second, defined also where nobody lies in bed or breathing
    has paused; use the flags to choose the seconds that count.
    """

    heart_bpm: Array
    resp_bpm: Array
    occupied: NDArray[np.bool_]  # somebody lies in bed for the whole second
    apnoea: NDArray[np.bool_]  # breathing paused during any part of the second
    movement: NDArray[np.bool_]  # a movement artefact overlaps the second


def _trajectory(rate: Rate, t: Array, duration_s: float) -> Array:
    if callable(rate):
        return np.asarray(rate(t), dtype=np.float64) * np.ones_like(t)
    if isinstance(rate, tuple):
        start, end = rate
        return start + (end - start) * t / max(duration_s, 1e-9)
    return np.full_like(t, float(rate))


def _slow_noise(rng: np.random.Generator, n: int, rate_hz: float, cutoff_hz: float) -> Array:
    """Unit-sd Gaussian noise low-passed below ``cutoff_hz`` (Hz)."""
    sos = signal.butter(2, cutoff_hz, fs=rate_hz, output="sos")
    y = np.asarray(signal.sosfiltfilt(sos, rng.standard_normal(n + 2000)))[1000:-1000]
    return np.asarray(y / max(float(np.std(y)), 1e-12))


def _span_mask(t: Array, spans: Sequence[Span], taper_s: float) -> Array:
    """1 inside each span, 0 outside, linear tapers of ``taper_s`` (s) at both edges."""
    mask = np.zeros_like(t)
    for start, length in spans:
        rise = np.clip((t - start) / taper_s + 0.5, 0.0, 1.0)
        fall = np.clip((start + length - t) / taper_s + 0.5, 0.0, 1.0)
        mask = np.maximum(mask, np.minimum(rise, fall))
    return mask


def _beats(
    rng: np.random.Generator, t: Array, heart: Array, resp_phase: Array, rate_hz: float
) -> Array:
    """The BCG: one damped oscillation per beat at beat times with HRV."""
    duration = t[-1] + 1.0 / rate_hz if len(t) else 0.0
    x = np.zeros_like(t)
    kernel_t = np.arange(round(0.6 * rate_hz)) / rate_hz
    beat = float(rng.uniform(0.0, 0.5))
    while beat < duration:
        i = min(int(beat * rate_hz), len(t) - 1)
        freq = rng.uniform(5.0, 7.0)
        amp = (
            BCG_AMPLITUDE
            * (1.0 + 0.15 * np.sin(resp_phase[i]))
            * (1.0 + 0.1 * rng.standard_normal())
        )
        offset = beat * rate_hz - int(beat * rate_hz)  # sub-sample beat position
        tk = kernel_t - offset / rate_hz
        wave = amp * np.exp(-np.maximum(tk, 0) / 0.08) * np.sin(2 * np.pi * freq * tk)
        wave[tk < 0] = 0.0
        end = min(len(t), i + len(kernel_t))
        x[i:end] += wave[: end - i]
        interval = 60.0 / heart[i]
        interval *= 1.0 + 0.03 * np.sin(resp_phase[i]) + 0.02 * rng.standard_normal()
        beat += max(interval, 0.25)
    return x


def synthesize(
    duration_s: float,
    rate_hz: float = 100.0,
    heart_bpm: Rate = (60.0, 64.0),
    resp_bpm: Rate = (14.0, 15.0),
    seed: int = 0,
    movement_artefacts: Sequence[Span] = (),
    empty_spans: Sequence[Span] = (),
    apnoea_spans: Sequence[Span] = (),
    noise: float = 0.0005,
) -> tuple[Array, Array, BedTruth]:
    """A bed-sensor recording and its truth.

    Parameters
    ----------
    duration_s : float
        Length of the recording, seconds.
    rate_hz : float
        Sample rate, Hz.
    heart_bpm, resp_bpm : float, (start, end) or callable
        Heart rate (beats/min) and respiration rate (breaths/min): constant, linear from start
        to end, or a function of time (s) returning an array.
    seed : int
        Seed of every random choice; the same arguments give the same signal.
    movement_artefacts, empty_spans, apnoea_spans : sequence of (start_s, duration_s)
        Movement bursts, bed empty, and breathing paused, in seconds.
    noise : float
        Sensor noise sd, a.u. (the static pressure of a lying resident is about 1).

    Returns
    -------
    t : ndarray
        Sample times, seconds from 0.
    x : ndarray
        The sensor signal, a.u.
    truth : BedTruth
        Per-second rates and flags.
    """
    if duration_s <= 0 or rate_hz <= 0:
        raise ValueError("duration_s and rate_hz must be positive")
    rng = np.random.default_rng(seed)
    n = round(duration_s * rate_hz)
    t = np.arange(n) / rate_hz
    heart = _trajectory(heart_bpm, t, duration_s)
    resp = _trajectory(resp_bpm, t, duration_s)
    if np.any(heart <= 0) or np.any(resp <= 0):
        raise ValueError("rates must be positive")

    wobble = 1.0 + 0.04 * _slow_noise(rng, n, rate_hz, 0.02)
    resp_phase = 2 * np.pi * np.cumsum(resp * wobble / 60.0) / rate_hz
    depth = np.clip(1.0 + 0.25 * _slow_noise(rng, n, rate_hz, 0.01), 0.55, 1.8)
    breathing = 1.0 - _span_mask(t, apnoea_spans, 1.0)
    skew = float(rng.uniform(0.15, 0.35))
    wave = np.sin(resp_phase) + skew * np.sin(2 * resp_phase + 0.5)
    respiration = RESP_DEPTH * depth * breathing * wave

    occupied = 1.0 - _span_mask(t, empty_spans, 2.0)
    baseline = occupied * (1.0 + 0.02 * _slow_noise(rng, n, rate_hz, 0.002))
    bcg = _beats(rng, t, heart, resp_phase, rate_hz)

    moving = np.zeros(n)
    for start, length in movement_artefacts:
        i0, i1 = max(0, round(start * rate_hz)), min(n, round((start + length) * rate_hz))
        if i1 <= i0:
            continue
        burst = rng.standard_normal(i1 - i0)
        sos = signal.butter(
            2, [0.3, min(15.0, 0.4 * rate_hz)], "bandpass", fs=rate_hz, output="sos"
        )
        burst = np.asarray(signal.sosfilt(sos, burst)) * MOVEMENT_AMPLITUDE * 3.0
        moving[i0:i1] += burst * np.hanning(i1 - i0)
        baseline[i1:] += occupied[i1:] * rng.normal(0.0, 0.05)  # lies differently afterwards

    x = baseline + occupied * (respiration + bcg) + moving + noise * rng.standard_normal(n)
    truth = _truth(t, heart, resp, occupied, breathing, movement_artefacts, duration_s)
    return t, x, truth


def _truth(
    t: Array,
    heart: Array,
    resp: Array,
    occupied: Array,
    breathing: Array,
    movement_artefacts: Sequence[Span],
    duration_s: float,
) -> BedTruth:
    seconds = int(duration_s)
    second = t.astype(np.int64)
    inside = second < seconds

    def lowest_by_second(a: Array) -> Array:
        low = np.full(seconds, np.inf)
        np.minimum.at(low, second[inside], a[inside])
        return low

    middle = np.minimum(np.searchsorted(t, np.arange(seconds) + 0.5), len(t) - 1)
    movement = np.zeros(seconds, bool)
    for start, length in movement_artefacts:
        movement[max(0, int(np.floor(start))) : int(np.ceil(start + length))] = True
    return BedTruth(
        heart_bpm=heart[middle],
        resp_bpm=resp[middle],
        occupied=lowest_by_second(occupied) >= 0.999,
        apnoea=lowest_by_second(breathing) < 0.999,
        movement=movement,
    )
