"""Bed vital signs: heart and respiration rate from a bed sensor's raw BCG/pressure signal.

One bed per state, one channel of samples on the fixed grid ``VitalsConfig.rate_hz`` (the
caller resamples irregular or other-rate input first, e.g. with
:mod:`gateway.detect.resample`). Sample ``n`` (counted from 0 since :func:`initial_state`) is
at ``t0 + n / rate_hz`` seconds; nothing here reads a clock. The signal chain is causal, run
over whole blocks with ``scipy.signal.sosfilt`` and carried ``zi``::

    x --+-- band-pass resp_band (0.08-0.7 Hz) -------------------------------> r
        +-- band-pass beat_band (2-15 Hz) --> square --> band-pass envelope_band (0.6-4 Hz) --> e
                                       (b^2, the BCG energy)

Every ``hop_s`` (a *tick*, at absolute sample counts ``k * hop``) one :class:`VitalsReading`
is emitted, computed only from the samples before the tick:

- **Occupancy**: the median, over the last ``occupancy_s``, of the per-second BCG energy
  exceeds ``empty_rms**2``. An empty bed carries sensor noise only; a lying person's heart
  shakes the bed even while breathing pauses.
- **Movement**: a second whose BCG energy exceeds ``movement_ratio`` x the median of the last
  ``movement_ref_s`` seconds, or in which occupancy changed. Estimates use only the samples
  after the last movement plus ``movement_hold_s`` (filter ringing), shortened from the full
  window, and are withheld (None, quality 0) while fewer than the minimum windows are clean.
  Movement never starts an alarm.
- **Heart rate**: the first autocorrelation peak of ``e`` (the beat envelope, over the clean
  tail of ``heart_window_s``) that reaches ``0.8`` of the highest one within 30-200 beats/min
  (taking the first avoids locking onto 2 beats), parabolically interpolated; quality is its
  normalised autocorrelation.
- **Respiration rate**: the periodogram peak (Hann window, zero-padded) of ``r`` over the
  clean tail of ``resp_window_s``, decimated to about 10 Hz, within 4-45 breaths/min;
  quality is the share of band power within 0.05 Hz of the peak.
- **Apnoea**: the RMS of ``r`` over ``resp_amp_s`` falls below ``apnoea_fraction`` of the
  median of the breathing seconds of the last ``apnoea_ref_s`` for ``apnoea_min_s`` while
  occupied -> ``VitalsAlarm("apnoea", t_start, t)``, once per pause.
- **Rates outside the resident's limits**: an episode starts at an estimate outside
  ``[heart_min, heart_max]`` (``[resp_min, resp_max]``) and ends when most estimates of the
  last quarter of ``rate_alarm_s`` are within; missing estimates neither end nor extend it.
  After ``rate_alarm_s``, if at least half of the ticks of the last ``rate_alarm_s`` carry an
  estimate and ``rate_alarm_share`` of those lie outside ->
  ``VitalsAlarm("heart_rate" | "respiration_rate", t_start, t, median)``, once per episode.

**Chunk invariance.** ``sosfilt`` with carried state gives the same samples however the input
is cut, and every tick reads fixed-length slices of buffers holding the last
``buffer_samples`` filtered samples, so feeding a signal in any chunks gives bit-identical
readings and alarms.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import signal

Array = NDArray[np.float64]
AlarmKind = Literal["apnoea", "heart_rate", "respiration_rate"]
LIMIT = 1e9  # a.u.; larger input is clipped so that squares and sums stay finite
NEVER = -(10**9)  # tick of the last movement before any


@dataclass(frozen=True)
class VitalsConfig:
    """Parameters in Hz, seconds, beats/min, breaths/min and sensor units (a.u.).

    ``empty_rms`` depends on the sensor's scale; the default suits
    :mod:`firmware_sim.bed_signal` (static pressure of a lying resident about 1 a.u.).
    """

    rate_hz: float = 100.0
    hop_s: float = 1.0  # one reading per hop
    resp_band: tuple[float, float] = (0.08, 0.7)
    beat_band: tuple[float, float] = (2.0, 15.0)
    envelope_band: tuple[float, float] = (0.6, 4.0)
    heart_window_s: float = 12.0
    heart_min_window_s: float = 6.0
    heart_search_bpm: tuple[float, float] = (30.0, 200.0)
    heart_min_quality: float = 0.2
    resp_window_s: float = 30.0
    resp_min_window_s: float = 15.0
    resp_search_bpm: tuple[float, float] = (4.0, 45.0)
    resp_min_quality: float = 0.25
    empty_rms: float = 0.0006  # a.u. in beat_band
    occupancy_s: float = 5.0
    movement_ratio: float = 6.0
    movement_ref_s: float = 30.0
    movement_hold_s: float = 3.0
    resp_amp_s: float = 4.0
    apnoea_fraction: float = 0.3
    apnoea_ref_s: float = 60.0
    apnoea_min_s: float = 20.0
    heart_min: float = 40.0
    heart_max: float = 120.0
    resp_min: float = 8.0
    resp_max: float = 30.0
    rate_alarm_s: float = 60.0
    rate_alarm_share: float = 0.8

    def __post_init__(self) -> None:
        if not 40 <= self.rate_hz <= 2000:
            raise ValueError(f"rate_hz {self.rate_hz} outside 40..2000 Hz")
        if self.hop_s * self.rate_hz < 1:
            raise ValueError("hop_s must span at least one sample")
        if self.beat_band[1] >= self.rate_hz / 2:
            raise ValueError("beat_band must lie below the Nyquist frequency")
        if not self.heart_min_window_s <= self.heart_window_s:
            raise ValueError("need heart_min_window_s <= heart_window_s")
        if not self.resp_min_window_s <= self.resp_window_s:
            raise ValueError("need resp_min_window_s <= resp_window_s")
        if 60.0 / self.heart_search_bpm[0] * 2 > self.heart_min_window_s:
            raise ValueError("heart_min_window_s must hold two of the slowest beats")

    def samples(self, seconds: float) -> int:
        return max(1, round(seconds * self.rate_hz))

    def ticks(self, seconds: float) -> int:
        return max(1, round(seconds / self.hop_s))

    @property
    def hop(self) -> int:
        return self.samples(self.hop_s)

    @property
    def decimation(self) -> int:
        """Keep every this many respiration samples (about 10 Hz)."""
        return max(1, int(self.rate_hz // 10))

    @property
    def buffer_samples(self) -> int:
        longest = max(self.heart_window_s, self.resp_window_s, self.resp_amp_s, self.hop_s)
        return self.samples(longest)

    def _band(self, band: tuple[float, float], order: int) -> Array:
        sos = signal.butter(order, band, "bandpass", fs=self.rate_hz, output="sos")
        return np.asarray(sos, dtype=np.float64)

    @cached_property
    def resp_sos(self) -> Array:
        return self._band(self.resp_band, 3)

    @cached_property
    def beat_sos(self) -> Array:
        return self._band(self.beat_band, 2)

    @cached_property
    def envelope_sos(self) -> Array:
        return self._band(self.envelope_band, 2)


@dataclass(frozen=True)
class VitalsReading:
    t: float  # s, time of the tick (end of the windows used)
    heart_bpm: float | None  # beats/min; None when empty, moving or unclear
    resp_bpm: float | None  # breaths/min; None when empty, moving or unclear
    occupied: bool
    movement: bool  # a movement artefact in this second
    quality: float  # 0..1, the lower of the two estimates' qualities; 0 without estimates


@dataclass(frozen=True)
class VitalsAlarm:
    kind: AlarmKind
    t_start: float  # s, when the condition started
    t: float  # s, the tick that raised it
    value: float | None = None  # median rate (per minute) of the window, for rate alarms


Event = VitalsReading | VitalsAlarm


def _history(n: int) -> Array:
    return np.full(n, np.nan)


@dataclass
class RateEpisode:
    """A rate outside the resident's limits, from tick ``since`` (None: within limits)."""

    kind: AlarmKind
    since: int | None = None
    alarmed: bool = False


@dataclass
class VitalsState:
    """Everything carried between blocks; per-second histories are newest last, NaN = none."""

    t0: float  # s, time of sample 0
    consumed: int = 0  # samples consumed so far
    primed: bool = False  # filters are started from the first sample seen
    zi_resp: Array = field(default_factory=lambda: np.zeros(0))
    zi_beat: Array = field(default_factory=lambda: np.zeros(0))
    zi_envelope: Array = field(default_factory=lambda: np.zeros(0))
    resp: Array = field(default_factory=lambda: np.zeros(0))  # last filtered samples
    energy: Array = field(default_factory=lambda: np.zeros(0))
    envelope: Array = field(default_factory=lambda: np.zeros(0))
    beat_power: Array = field(default_factory=lambda: np.zeros(0))  # a.u.^2 per tick
    breathing_amp: Array = field(default_factory=lambda: np.zeros(0))  # a.u., breathing ticks
    heart_hist: Array = field(default_factory=lambda: np.zeros(0))  # beats/min per tick
    resp_hist: Array = field(default_factory=lambda: np.zeros(0))  # breaths/min per tick
    occupied: bool = False
    last_movement: int = NEVER  # tick index
    pause_start: int | None = None  # tick index of the first low-breathing tick
    apnoea_alarmed: bool = False
    heart: RateEpisode = field(default_factory=lambda: RateEpisode("heart_rate"))
    breathing: RateEpisode = field(default_factory=lambda: RateEpisode("respiration_rate"))


def initial_state(t0: float = 0.0, config: VitalsConfig | None = None) -> VitalsState:
    """A fresh state for one bed whose first sample falls at ``t0`` seconds."""
    cfg = config or VitalsConfig()
    return VitalsState(
        t0=float(t0),
        beat_power=_history(cfg.ticks(max(cfg.movement_ref_s, cfg.occupancy_s))),
        breathing_amp=_history(cfg.ticks(cfg.apnoea_ref_s)),
        heart_hist=_history(cfg.ticks(cfg.rate_alarm_s)),
        resp_hist=_history(cfg.ticks(cfg.rate_alarm_s)),
    )


def _push(history: Array, value: float) -> Array:
    return np.concatenate([history[1:], [value]])


def step(
    state: VitalsState, x_block: Array | list[float], config: VitalsConfig | None = None
) -> tuple[VitalsState, list[Event]]:
    """Consume ``x_block`` (samples, a.u.) on the ``config.rate_hz`` grid.

    Parameters
    ----------
    state : VitalsState
        From :func:`initial_state` or the previous call; not modified.
    x_block : array_like, shape (n,)
        The next ``n`` samples, a.u.; must be finite.
    config : VitalsConfig
        The same for every call on one state.

    Returns
    -------
    state : VitalsState
        The state after the block.
    events : list of VitalsReading or VitalsAlarm
        Readings for the ticks within the block, each followed by the alarms it raised.

    Raises
    ------
    ValueError
        If ``x_block`` is not one-dimensional or holds NaN or inf.
    """
    cfg = config or VitalsConfig()
    x = np.asarray(x_block, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D block of samples, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("bed samples must be finite (drop or interpolate NaN/inf first)")
    if len(x) == 0:
        return state, []
    s = copy.deepcopy(state)
    x = np.clip(x, -LIMIT, LIMIT)
    with np.errstate(all="ignore"):
        if not s.primed:
            s.zi_resp = signal.sosfilt_zi(cfg.resp_sos) * x[0]
            s.zi_beat = signal.sosfilt_zi(cfg.beat_sos) * x[0]
            s.zi_envelope = np.zeros((len(cfg.envelope_sos), 2))
            s.primed = True
        r, s.zi_resp = signal.sosfilt(cfg.resp_sos, x, zi=s.zi_resp)
        b, s.zi_beat = signal.sosfilt(cfg.beat_sos, x, zi=s.zi_beat)
        energy = np.asarray(b) ** 2
        e, s.zi_envelope = signal.sosfilt(cfg.envelope_sos, energy, zi=s.zi_envelope)
        start = s.consumed - len(s.resp)  # absolute index of the buffers' first sample
        resp = np.concatenate([s.resp, r])
        energies = np.concatenate([s.energy, energy])
        envelope = np.concatenate([s.envelope, e])
        events: list[Event] = []
        hop = cfg.hop
        for k in range(s.consumed // hop + 1, (s.consumed + len(x)) // hop + 1):
            end = k * hop - start
            events.extend(_tick(s, cfg, k, resp[:end], energies[:end], envelope[:end]))
    s.consumed += len(x)
    keep = cfg.buffer_samples
    s.resp, s.energy, s.envelope = resp[-keep:], energies[-keep:], envelope[-keep:]
    return s, events


def _tick(
    s: VitalsState, cfg: VitalsConfig, k: int, resp: Array, energy: Array, envelope: Array
) -> list[Event]:
    """Decide tick ``k`` from buffers ending at its sample; updates ``s`` in place."""
    t = s.t0 + k * cfg.hop / cfg.rate_hz
    power = float(np.mean(energy[-cfg.hop :]))
    reference = s.beat_power[-cfg.ticks(cfg.movement_ref_s) :]
    s.beat_power = _push(s.beat_power, power)
    recent = s.beat_power[-cfg.ticks(cfg.occupancy_s) :]
    occupied = bool(np.nanmedian(recent) > cfg.empty_rms**2)
    moving = occupied != s.occupied
    if np.isfinite(reference).sum() >= cfg.ticks(cfg.occupancy_s):
        moving |= power > cfg.movement_ratio * float(np.nanmedian(reference))
    moving |= not math.isfinite(power)
    s.occupied = occupied
    if moving:
        s.last_movement = k
    clean = (k - s.last_movement) * cfg.hop - cfg.samples(cfg.movement_hold_s)
    heart = rate_q = None
    heart_q = resp_q = 0.0
    if occupied and not moving and clean > 0:
        heart, heart_q = heart_rate(_tail(envelope, clean, cfg.heart_window_s, cfg), cfg)
        rate_q, resp_q = resp_rate(_tail(resp, clean, cfg.resp_window_s, cfg), cfg)
    qualities = [q for v, q in ((heart, heart_q), (rate_q, resp_q)) if v is not None]
    events: list[Event] = [
        VitalsReading(t, heart, rate_q, occupied, moving, min(qualities, default=0.0))
    ]
    amp = float(np.sqrt(np.mean(resp[-cfg.samples(cfg.resp_amp_s) :] ** 2)))
    events.extend(_apnoea(s, cfg, k, t, amp, occupied and not moving, moving))
    events.extend(_rate_alarms(s, cfg, k, t, heart, rate_q))
    return events


def _tail(buffer: Array, clean: int, window_s: float, cfg: VitalsConfig) -> Array:
    """The last ``window_s`` of ``buffer``, or only its last ``clean`` samples."""
    n = min(clean, cfg.samples(window_s), len(buffer))
    return buffer[len(buffer) - n :]


def heart_rate(envelope: Array, cfg: VitalsConfig) -> tuple[float | None, float]:
    """Beats/min and quality (0..1) from the beat envelope, or (None, q) if unclear."""
    if len(envelope) < cfg.samples(cfg.heart_min_window_s):
        return None, 0.0
    e = envelope - np.mean(envelope)
    n = len(e)
    spectrum = np.fft.rfft(e, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:n] / (n - np.arange(n))
    if not (math.isfinite(acf[0]) and acf[0] > 0):
        return None, 0.0
    acf = acf / acf[0]
    lo = max(1, math.floor(cfg.rate_hz * 60.0 / cfg.heart_search_bpm[1]))
    hi = min(n - 2, math.ceil(cfg.rate_hz * 60.0 / cfg.heart_search_bpm[0]))
    lag = _first_peak(acf, lo, hi)
    if lag is None:
        return None, 0.0
    quality = float(np.clip(acf[lag], 0.0, 1.0))
    if quality < cfg.heart_min_quality:
        return None, quality
    return 60.0 * cfg.rate_hz / (lag + _vertex(acf, lag)), quality


def _first_peak(acf: Array, lo: int, hi: int) -> int | None:
    """The first local maximum in ``acf[lo:hi + 1]`` reaching 0.8 of the highest one."""
    if hi - lo < 2:
        return None
    seg = acf[lo - 1 : hi + 2]
    inner = seg[1:-1]
    peaks = np.flatnonzero((inner > seg[:-2]) & (inner >= seg[2:]))
    if len(peaks) == 0:
        return None
    best = inner[peaks].max()
    return int(lo + peaks[np.argmax(inner[peaks] >= 0.8 * best)])


def _vertex(y: Array, i: int) -> float:
    """Offset (samples, within +-0.5) of the parabola through ``y[i-1:i+2]``'s vertex."""
    a, b, c = y[i - 1], y[i], y[i + 1]
    denom = a - 2 * b + c
    if not (math.isfinite(denom) and denom < 0):
        return 0.0
    return float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))


def resp_rate(resp: Array, cfg: VitalsConfig) -> tuple[float | None, float]:
    """Breaths/min and quality (0..1) from the respiration band, or (None, q) if unclear."""
    if len(resp) < cfg.samples(cfg.resp_min_window_s):
        return None, 0.0
    # Decimate counting back from the newest sample, so a window's samples do not depend on
    # where it starts; the band-pass already removed what would alias.
    r = resp[::-1][:: cfg.decimation][::-1]
    fs = cfg.rate_hz / cfg.decimation
    nfft = 4096
    power = np.abs(np.fft.rfft((r - np.mean(r)) * np.hanning(len(r)), nfft)) ** 2
    freqs = np.fft.rfftfreq(nfft, 1.0 / fs)
    band = np.flatnonzero(
        (freqs >= cfg.resp_search_bpm[0] / 60) & (freqs <= cfg.resp_search_bpm[1] / 60)
    )
    total = float(np.sum(power[band]))
    if not (math.isfinite(total) and total > 0):
        return None, 0.0
    i = int(band[np.argmax(power[band])])
    near = (freqs >= freqs[i] - 0.05) & (freqs <= freqs[i] + 0.05)
    quality = float(np.sum(power[near]) / total)
    if quality < cfg.resp_min_quality or i in (band[0], band[-1]):
        return None, quality
    return float(60.0 * (freqs[i] + _vertex(power, i) * fs / nfft)), quality


def _apnoea(
    s: VitalsState, cfg: VitalsConfig, k: int, t: float, amp: float, still: bool, moving: bool
) -> list[Event]:
    """Track a pause in breathing: low respiration amplitude while occupied and still."""
    filled = np.isfinite(s.breathing_amp)
    reference = float(np.median(s.breathing_amp[filled])) if filled.sum() >= 10 else None
    low = still and reference is not None and amp < cfg.apnoea_fraction * reference
    if not low:
        s.pause_start, s.apnoea_alarmed = None, False
        if still and math.isfinite(amp):
            s.breathing_amp = _push(s.breathing_amp, amp)
        elif not moving and not s.occupied:
            s.breathing_amp = _history(len(s.breathing_amp))  # a new sleeper: learn anew
        return []
    if s.pause_start is None:
        s.pause_start = k
    lasted = (k - s.pause_start) * cfg.hop_s
    if lasted >= cfg.apnoea_min_s and not s.apnoea_alarmed:
        s.apnoea_alarmed = True
        return [VitalsAlarm("apnoea", s.t0 + s.pause_start * cfg.hop / cfg.rate_hz, t)]
    return []


def _rate_alarms(
    s: VitalsState, cfg: VitalsConfig, k: int, t: float, heart: float | None, resp: float | None
) -> list[Event]:
    """Alarm on rates outside the resident's limits for at least ``rate_alarm_s``."""
    s.heart_hist = _push(s.heart_hist, math.nan if heart is None else heart)
    s.resp_hist = _push(s.resp_hist, math.nan if resp is None else resp)
    events: list[Event] = []
    for episode, hist, low, high in (
        (s.heart, s.heart_hist, cfg.heart_min, cfg.heart_max),
        (s.breathing, s.resp_hist, cfg.resp_min, cfg.resp_max),
    ):
        valid = hist[np.isfinite(hist)]
        outside = (valid < low) | (valid > high)
        latest = hist[-cfg.ticks(cfg.rate_alarm_s / 4) :]
        latest = latest[np.isfinite(latest)]
        if len(latest) and 2 * np.sum((latest < low) | (latest > high)) < len(latest):
            episode.since, episode.alarmed = None, False  # back within limits
        elif episode.since is None and len(outside) and outside[-1] and hist[-1] == valid[-1]:
            episode.since = k
        if episode.since is None or episode.alarmed:
            continue
        lasted = (k - episode.since) * cfg.hop_s
        share = float(outside.mean()) if len(valid) else 0.0
        enough = 2 * len(valid) >= len(hist)
        if lasted >= cfg.rate_alarm_s and enough and share >= cfg.rate_alarm_share:
            episode.alarmed = True
            t_start = s.t0 + episode.since * cfg.hop / cfg.rate_hz
            events.append(VitalsAlarm(episode.kind, t_start, t, float(np.median(valid))))
    return events
