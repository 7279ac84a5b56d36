"""Bed vital signs against known truth on synthetic nights, with a naive baseline.

Each night (``--nights``, ``--hours`` each, seeds 0, 1, ...) is a synthetic bed-sensor
recording from :mod:`firmware_sim.bed_signal` with its own heart rate (start 48-95 beats/min,
drifting up to +-12) and respiration rate (start 9-22 breaths/min, drifting up to +-3;
both within the default resident limits),
sensor noise, a late bed entry, bathroom trips (empty bed 3-8 min), movement bursts
(2-12 s), apnoeas of 25-50 s (which must alarm) and breathing pauses of 8-12 s (which must
not). The estimator (:mod:`gateway.detect.vitals`) is fed in 1 s blocks, as the gateway does.

Scored seconds: occupied, no movement artefact, and (for respiration) no breathing pause.
Errors are median absolute errors against the per-second truth; coverage is the share of
scored seconds with both estimates. The baseline counts upward zero crossings over the same
windows (12 s of a causal 0.8-3 Hz band-pass for the heart, 30 s of a causal 0.08-0.7 Hz
band-pass for respiration) and always answers.

    .venv/bin/python -m bench.vitals [--nights 6] [--hours 2]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np
from firmware_sim.bed_signal import BedTruth, Span, synthesize
from numpy.typing import NDArray
from scipy import signal

from gateway.detect.vitals import VitalsAlarm, VitalsConfig, VitalsReading, initial_state, step

Array = NDArray[np.float64]
CONFIG = VitalsConfig()
GOAL_HR_BPM = 3.0
GOAL_RR_BPM = 1.0


@dataclass
class Night:
    x: Array
    truth: BedTruth
    long_apnoeas: list[Span]
    short_pauses: list[Span]


@dataclass
class Tally:
    hr_err: list[float] = field(default_factory=list)
    rr_err: list[float] = field(default_factory=list)
    base_hr_err: list[float] = field(default_factory=list)
    base_rr_err: list[float] = field(default_factory=list)
    scored: int = 0
    covered_hr: int = 0
    covered_rr: int = 0
    covered_both: int = 0
    hits: int = 0
    misses: int = 0
    false_alarms: int = 0
    other_alarms: int = 0


def _place(
    rng: np.random.Generator, taken: list[Span], count: int, lo: float, hi: float, duration_s: float
) -> list[Span]:
    """``count`` spans of ``lo``-``hi`` s, at least 90 s clear of each other and of ``taken``."""
    placed: list[Span] = []
    for _ in range(2000):
        if len(placed) == count:
            break
        length = float(rng.uniform(lo, hi))
        start = float(rng.uniform(120.0, duration_s - length - 60.0))
        if all(start + length + 90 < s or s + d + 90 < start for s, d in taken):
            placed.append((start, length))
            taken.append((start, length))
    return placed


def make_night(seed: int, hours: float) -> Night:
    rng = np.random.default_rng(1000 + seed)
    duration = hours * 3600.0
    # Rates stay within the default resident limits, so any rate alarm is a false one.
    hr, rr = rng.uniform(48, 95), rng.uniform(9, 22)
    hr_end = float(np.clip(hr + rng.uniform(-12, 12), 45, 110))
    rr_end = float(np.clip(rr + rng.uniform(-3, 3), 9, 26))
    taken: list[Span] = [(0.0, float(rng.uniform(20, 90)))]  # gets into bed
    per_hour = max(1, round(hours))
    empty = taken[:1] + _place(rng, taken, per_hour // 2 + 1, 180, 480, duration)
    movement = _place(rng, taken, 6 * per_hour, 2, 12, duration)
    apnoeas = _place(rng, taken, 3 * per_hour, 25, 50, duration)
    pauses = _place(rng, taken, 2 * per_hour, 8, 12, duration)
    _, x, truth = synthesize(
        duration,
        rate_hz=CONFIG.rate_hz,
        heart_bpm=(hr, hr_end),
        resp_bpm=(rr, rr_end),
        seed=seed,
        movement_artefacts=movement,
        empty_spans=empty,
        apnoea_spans=apnoeas + pauses,
        noise=float(rng.uniform(0.0003, 0.0008)),
    )
    return Night(x, truth, apnoeas, pauses)


def zero_crossing_rates(x: Array) -> tuple[Array, Array]:
    """Baseline per tick: (beats/min, breaths/min) from upward zero crossings."""
    heart_sos = signal.butter(2, (0.8, 3.0), "bandpass", fs=CONFIG.rate_hz, output="sos")
    beats = np.asarray(signal.sosfilt(heart_sos, x - x[0]))
    breaths = np.asarray(signal.sosfilt(CONFIG.resp_sos, x - x[0]))
    hop = CONFIG.hop
    ticks = np.arange(1, len(x) // hop + 1) * hop
    result = []
    for band, window_s in ((beats, CONFIG.heart_window_s), (breaths, CONFIG.resp_window_s)):
        up = np.concatenate([[0], np.cumsum((band[:-1] < 0) & (band[1:] >= 0))])
        w = CONFIG.samples(window_s)
        starts = np.maximum(ticks - w, 0)
        count = up[ticks - 1] - up[starts]
        result.append(60.0 * count / (np.maximum(ticks - starts, 1) / CONFIG.rate_hz))
    return result[0], result[1]


def score(night: Night, tally: Tally) -> None:
    state = initial_state(0.0, CONFIG)
    events: list[VitalsReading | VitalsAlarm] = []
    block = CONFIG.samples(1.0)
    for i in range(0, len(night.x), block):
        state, out = step(state, night.x[i : i + block], CONFIG)
        events.extend(out)
    base_hr, base_rr = zero_crossing_rates(night.x)
    truth = night.truth
    for e in events:
        if isinstance(e, VitalsAlarm):
            _score_alarm(e, night, tally)
            continue
        k = round(e.t) - 1  # the second just before the tick
        if k >= len(truth.occupied) or not truth.occupied[k] or truth.movement[k]:
            continue
        tally.scored += 1
        tally.base_hr_err.append(abs(base_hr[k] - truth.heart_bpm[k]))
        if e.heart_bpm is not None:
            tally.covered_hr += 1
            tally.hr_err.append(abs(e.heart_bpm - truth.heart_bpm[k]))
        if truth.apnoea[k]:
            continue
        tally.base_rr_err.append(abs(base_rr[k] - truth.resp_bpm[k]))
        if e.resp_bpm is not None:
            tally.covered_rr += 1
            tally.rr_err.append(abs(e.resp_bpm - truth.resp_bpm[k]))
        tally.covered_both += e.heart_bpm is not None and e.resp_bpm is not None
    detected = {
        span
        for span in night.long_apnoeas
        for e in events
        if isinstance(e, VitalsAlarm) and e.kind == "apnoea" and _within(e, span)
    }
    tally.hits += len(detected)
    tally.misses += len(night.long_apnoeas) - len(detected)


def _within(alarm: VitalsAlarm, span: Span) -> bool:
    start, length = span
    return start - 5.0 <= alarm.t_start <= start + length


def _score_alarm(alarm: VitalsAlarm, night: Night, tally: Tally) -> None:
    if alarm.kind != "apnoea":
        tally.other_alarms += 1  # every rate stays within the default limits
    elif not any(_within(alarm, span) for span in night.long_apnoeas):
        tally.false_alarms += 1


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nights", type=int, default=6)
    parser.add_argument("--hours", type=float, default=2.0)
    args = parser.parse_args()
    total = Tally()
    print(
        f"{'night':>5} {'hr_mae':>7} {'rr_mae':>7} {'cov_hr':>7} {'cov_rr':>7} "
        f"{'base_hr':>8} {'base_rr':>8} {'apnoea hit/miss/false':>22}"
    )
    for seed in range(args.nights):
        night, tally = make_night(seed, args.hours), Tally()
        score(night, tally)
        print(
            f"{seed:>5} {_median(tally.hr_err):7.2f} {_median(tally.rr_err):7.2f} "
            f"{tally.covered_hr / tally.scored:7.1%} {tally.covered_rr / tally.scored:7.1%} "
            f"{_median(tally.base_hr_err):8.2f} {_median(tally.base_rr_err):8.2f} "
            f"{tally.hits:>12}/{tally.misses}/{tally.false_alarms}"
        )
        for name, value in vars(tally).items():
            merged = getattr(total, name)
            setattr(total, name, merged + value)
    hr, rr = _median(total.hr_err), _median(total.rr_err)
    base_hr, base_rr = _median(total.base_hr_err), _median(total.base_rr_err)
    coverage = total.covered_both / total.scored
    print(f"scored seconds: {total.scored} ({args.nights} nights x {args.hours} h)")
    print(
        f"heart rate: median abs error {hr:.2f} bpm (goal {GOAL_HR_BPM}), "
        f"90th percentile {np.percentile(total.hr_err, 90):.2f}, "
        f"coverage {total.covered_hr / total.scored:.1%}; "
        f"zero-crossing baseline {base_hr:.2f} bpm (baseline/estimator {base_hr / hr:.1f}x)"
    )
    print(
        f"respiration: median abs error {rr:.2f} breaths/min (goal {GOAL_RR_BPM}), "
        f"90th percentile {np.percentile(total.rr_err, 90):.2f}, "
        f"coverage {total.covered_rr / total.scored:.1%}; "
        f"zero-crossing baseline {base_rr:.2f} (baseline/estimator {base_rr / rr:.1f}x)"
    )
    print(
        f"apnoea >= 25 s: {total.hits} hits, {total.misses} misses; "
        f"{total.false_alarms} false apnoea alarms (incl. on 8-12 s pauses), "
        f"{total.other_alarms} rate alarms (expected 0)"
    )
    print(f"vitals: hr_mae_bpm={hr:.2f} rr_mae_bpm={rr:.2f} coverage={coverage:.3f}")


if __name__ == "__main__":
    main()
