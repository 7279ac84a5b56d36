"""The fall detector on real SisFall trials, through the wearer pipeline the gateway runs.

Trials of subject SA01: F01 (slip forward while walking) and F13 (forward from sitting) must
be detected; D13 (lie down quickly) and D04 (jog quickly) must not. The data lives outside
the repository (``../shared/data/sisfall``); if it is missing these tests fail, never skip.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from functools import cache
from operator import attrgetter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from gateway.detect.fall import (
    FallConfig,
    FallEvent,
    detect,
    fall_score,
    finish,
    initial_state,
)
from gateway.detect.resample import WearerStream, initial_resample_state, resample

Array = NDArray[np.float64]
DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "sisfall"
RAW_HZ = 200.0
FALLS = ("F01_SA01_R01", "F13_SA01_R01")
ADLS = ("D13_SA01_R01", "D04_SA01_R01")
CONFIG = FallConfig()
STEP = 1.0 / CONFIG.rate_hz


@cache
def sisfall() -> tuple[NDArray[np.int16], NDArray[np.int64], dict[str, int]]:
    """Raw counts, trial offsets and each trial's index by id."""
    npz_path, csv_path = DATA / "sisfall_adxl345_200hz.npz", DATA / "trials.csv"
    assert npz_path.is_file(), f"SisFall data missing: {npz_path}"
    assert csv_path.is_file(), f"SisFall data missing: {csv_path}"
    with csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    with np.load(npz_path) as npz:
        samples, offsets = npz["samples"], npz["offsets"]
    assert len(offsets) == len(rows) + 1
    for row in rows:
        assert (row["is_fall"] == "1") == row["activity"].startswith("F")
    return samples, offsets, {row["trial_id"]: i for i, row in enumerate(rows)}


def trial(trial_id: str) -> Array:
    """One trial's samples in g, (n, 3) at 200 Hz."""
    samples, offsets, index = sisfall()
    i = index[trial_id]
    return np.asarray(samples[offsets[i] : offsets[i + 1]] * 32 / 8192, dtype=np.float64)


def times(n: int) -> Array:
    return np.arange(n) / RAW_HZ


def events_of(t: Array, acc: Array, chunk: int | None = None) -> list[FallEvent]:
    stream = WearerStream()
    size = chunk or max(len(t), 1)
    return [
        e
        for lo in range(0, len(t), size)
        for e in stream.feed(t[lo : lo + size], acc[lo : lo + size])
    ]


def falls_at(acc: Array, t: Array | None = None) -> list[float]:
    return [e.t_impact for e in events_of(times(len(acc)) if t is None else t, acc)]


def test_the_fixed_trials_are_judged_right() -> None:
    for trial_id in FALLS:
        [event] = events_of(times(len(trial(trial_id))), trial(trial_id))
        assert event.peak_g >= CONFIG.impact_g
        assert event.angle_deg >= CONFIG.min_angle_deg
        assert event.stillness_g <= CONFIG.max_still_g
        assert event.score >= CONFIG.score_cutoff
        assert event.velocity_change_gs > 0.0
    for trial_id in ADLS:
        assert falls_at(trial(trial_id)) == []


@pytest.mark.parametrize("trial_id", FALLS + ADLS)
def test_chunks_of_1_7_64_and_whole_give_identical_events(trial_id: str) -> None:
    acc = trial(trial_id)
    t = times(len(acc))
    whole = events_of(t, acc)
    for chunk in (1, 7, 64):
        assert events_of(t, acc, chunk) == whole


def grid_of(acc: Array) -> tuple[float, Array]:
    _, [segment] = resample(initial_resample_state(), times(len(acc)), acc, CONFIG.rate_hz)
    return segment.t_start, segment.acc


def test_velocity_change_is_the_free_fall_in_the_second_before_the_impact() -> None:
    t0, acc = grid_of(trial("F01_SA01_R01"))
    [event] = _blocks(t0, acc, 333)
    k = round((event.t_impact - t0) * CONFIG.rate_hz)
    window = np.linalg.norm(acc[k - 50 : k], axis=1)
    offline = np.sum(np.maximum(0.0, 1.0 - window)) / CONFIG.rate_hz
    assert event.velocity_change_gs == pytest.approx(offline, rel=1e-12)
    features = (event.peak_g, event.angle_deg, event.stillness_g, event.velocity_change_gs)
    assert event.score == fall_score(CONFIG, *features)


def _blocks(t0: float, acc: Array, cut: int) -> list[FallEvent]:
    """Events of ``acc`` on the grid fed in two blocks split at ``cut``."""
    state, first = detect(initial_state([t0]), acc[None, :cut], CONFIG)
    return first + detect(state, acc[None, cut:], CONFIG)[1]


def test_velocity_change_carries_across_blocks_and_follows_the_peak() -> None:
    """0.3 s of free fall, a 2.5 g crossing, then 0.2 s later the 4 g impact, then lying."""
    rate = int(CONFIG.rate_hz)
    acc = np.concatenate(
        [
            np.tile([0.0, 0.0, 1.0], (6 * rate, 1)),
            np.zeros((15, 3)),  # free fall: 0.3 s at 0 g
            [[0.0, 1.5, 2.0]],  # first crossing, 2.5 g
            np.tile([0.0, 0.0, 0.5], (9, 1)),  # 0.5 g deficit: 9 * 0.5 / 50 = 0.09 g s more
            [[3.0, 0.0, np.sqrt(7.0)]],  # the impact, 4 g, still within the peak window
            np.tile([1.0, 0.0, 0.0], (4 * rate, 1)),
        ]
    )
    loose = replace(CONFIG, score_cutoff=-np.inf)
    whole = detect(initial_state([0.0]), acc[None], loose)[1]
    [event] = whole
    assert event.t_impact == pytest.approx(6.0 + 25 / rate)
    # The window before the 4 g sample: 15 samples at 1 g deficit and 9 at 0.5 g.
    assert event.velocity_change_gs == pytest.approx(0.3 + 0.09, rel=1e-12)
    for cut in (6 * rate + 3, 6 * rate + 16, 6 * rate + 25, 6 * rate + 26):
        state, first = detect(initial_state([0.0]), acc[None, :cut], loose)
        assert first + detect(state, acc[None, cut:], loose)[1] == whole


def test_streams_side_by_side_equal_each_stream_alone() -> None:
    grids = [grid_of(trial(trial_id)) for trial_id in FALLS + ADLS]
    n = min(len(g) for _, g in grids)  # D13 is the shortest: 12 s, both falls decided within
    starts = [t0 + 0.25 * i for i, (t0, _) in enumerate(grids)]  # distinct stream clocks
    block = np.stack([g[:n] for _, g in grids])
    state, together = detect(initial_state(starts), block[:, : n // 3], CONFIG)
    _, rest = detect(state, block[:, n // 3 :], CONFIG)
    together += rest
    alone: list[FallEvent] = []
    for i, t0 in enumerate(starts):
        _, found = detect(initial_state([t0]), block[i : i + 1], CONFIG)
        alone += [replace(e, stream=i) for e in found]
    key = attrgetter("stream", "t_detect")
    assert sorted(together, key=key) == sorted(alone, key=key)
    assert sorted(e.stream for e in together) == [0, 1]  # the falls, not the ADLs


def test_a_rotated_device_gets_the_same_decisions() -> None:
    q, r = np.linalg.qr(np.random.default_rng(7).normal(size=(3, 3)))
    rotation = q * np.sign(np.diag(r))
    rotation *= np.linalg.det(rotation)  # proper rotation, det +1
    for trial_id in FALLS:
        assert len(falls_at(trial(trial_id) @ rotation.T)) == 1
    assert falls_at(trial("D04_SA01_R01") @ rotation.T) == []


def test_a_sensor_clipping_at_2g_still_sees_the_fall() -> None:
    assert len(falls_at(np.clip(trial("F01_SA01_R01"), -2.0, 2.0))) == 1


def test_nan_bursts_are_bridged_or_restart_the_detector() -> None:
    acc = trial("F01_SA01_R01").copy()
    for start in (400, 1000, 1600):  # 100 ms dropouts, interpolated over
        acc[start : start + 20] = np.nan
    acc[100:350, 1] = np.nan  # 1.25 s dropout: a new segment, a fresh detector
    acc[1800:1810] = np.inf  # during the lying still afterwards
    [t_impact] = falls_at(acc)
    assert t_impact == pytest.approx(falls_at(trial("F01_SA01_R01"))[0], abs=0.1)


@pytest.mark.parametrize("trial_id", FALLS)
def test_irregular_sampling_still_detects(trial_id: str) -> None:
    acc = trial(trial_id)
    jitter = np.random.default_rng(11).uniform(-0.3, 0.3, len(acc))
    t = (np.arange(len(acc)) + jitter) / RAW_HZ
    assert np.all(np.diff(t) > 0)
    [t_impact] = falls_at(acc, t)
    assert t_impact == pytest.approx(falls_at(acc)[0], abs=0.1)


@pytest.mark.parametrize("every", [10, 2], ids=["20Hz", "100Hz"])
def test_the_same_recording_at_other_rates_still_detects(every: int) -> None:
    acc = trial("F01_SA01_R01")
    [t_impact] = falls_at(acc[::every], times(len(acc))[::every])
    assert t_impact == pytest.approx(falls_at(acc)[0], abs=0.1)


def stand_fall_lie(
    quiet_s: float = 6.0, impact: tuple[float, float, float] = (3.0, 0.0, 2.5), lie_s: float = 4.0
) -> Array:
    """Synthetic 50 Hz: upright, one impact (3.9 g), then lying on the side, still."""
    n_quiet, n_lie = int(quiet_s * CONFIG.rate_hz), int(lie_s * CONFIG.rate_hz)
    return np.concatenate(
        [
            np.tile([0.0, 0.0, 1.0], (n_quiet, 1)),
            [impact],
            np.tile([1.0, 0.0, 0.0], (n_lie, 1)),
        ]
    )


SOFT = (1.2, 0.0, 1.6)  # a 2 g impact without free fall: held for confirmation


def grid_times(n: int, t0: float = 0.0) -> Array:
    """Times (s) of ``n`` samples on the detector's grid from ``t0``."""
    return np.asarray(t0 + np.arange(n) * STEP, dtype=np.float64)


@settings(max_examples=60, deadline=None)
@given(
    acc=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 400), st.just(3)),
        elements=st.floats(-16, 16, allow_nan=False),
    ),
    t0=st.floats(-1e4, 1e4),
)
@example(acc=stand_fall_lie(), t0=12.5)
@example(acc=stand_fall_lie(impact=SOFT, lie_s=7.0), t0=-3.0)
def test_any_finite_input_runs_and_decides_settle_s_or_confirm_s_after_the_impact(
    acc: Array, t0: float
) -> None:
    t = t0 + np.arange(len(acc)) * STEP
    for event in WearerStream().feed(t, acc):
        waited = event.t_detect - event.t_impact
        if abs(waited - CONFIG.settle_s) > STEP:  # else a clear fall, decided at once
            assert abs(waited - CONFIG.confirm_s) <= STEP
            assert CONFIG.confirm_cutoff <= event.score < CONFIG.score_cutoff
        assert t0 <= event.t_impact < event.t_detect <= t[-1]


def test_synthetic_fall_is_decided_exactly_settle_s_after_the_impact() -> None:
    acc = stand_fall_lie()
    [event] = WearerStream().feed(100.0 + np.arange(len(acc)) * STEP, acc)
    assert event.t_impact == pytest.approx(100.0 + 6.0)
    assert event.t_detect - event.t_impact == pytest.approx(CONFIG.settle_s)


def test_detect_refuses_non_finite_samples_and_wrong_shapes() -> None:
    state = initial_state([0.0, 0.0])
    good = np.zeros((2, 10, 3))
    bad = good.copy()
    bad[1, 4, 2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        detect(state, bad)
    for shape in [(10, 3), (1, 10, 3), (2, 10, 2)]:
        with pytest.raises(ValueError, match="expected"):
            detect(state, np.zeros(shape))


def with_impact(acc: Array, at_s: float, g: Array | list[float]) -> Array:
    """``acc`` (50 Hz) with one sample replaced by an impact vector ``g`` at ``at_s``."""
    out = acc.copy()
    out[round(at_s * CONFIG.rate_hz)] = g
    return out


def test_a_smaller_bounce_after_the_impact_does_not_replace_it() -> None:
    # The hard impact at 6 s, then a 2.2 g bounce while lying, 1.5 s later (after the peak
    # window): the fall is still judged on, and reported at, the hard impact.
    acc = with_impact(stand_fall_lie(), 7.5, [2.2, 0.0, 0.0])
    events = WearerStream().feed(np.arange(len(acc)) * STEP, acc)
    assert [round(e.t_impact, 6) for e in events][:1] == [6.0]
    assert events[0].peak_g == pytest.approx(float(np.hypot(3.0, 2.5)))


def test_a_weaker_impact_before_the_fall_is_superseded_by_it() -> None:
    # A 3.5 g stumble while upright 1.5 s before the 3.9 g fall: one decision, the fall's.
    acc = with_impact(stand_fall_lie(), 4.5, [0.0, 0.0, 3.5])
    events = WearerStream().feed(np.arange(len(acc)) * STEP, acc)
    assert [round(e.t_impact, 6) for e in events] == [6.0]


def test_candidates_never_outnumber_the_slots() -> None:
    with pytest.raises(ValueError, match="slots"):
        FallConfig(peak_window_s=0.5, settle_s=2.0)
    # Crossings every peak window (jogging) for 20 s, then the fall: each chunking agrees.
    acc = stand_fall_lie(quiet_s=26.0)
    for at in np.arange(1.0, 21.0, CONFIG.peak_window_s):
        acc = with_impact(acc, float(at), [0.0, 0.0, 2.0])
    whole = WearerStream().feed(np.arange(len(acc)) * STEP, acc)
    assert [round(e.t_impact, 6) for e in whole] == [26.0]


def test_a_soft_fall_is_decided_once_the_wearer_has_stayed_down() -> None:
    acc = stand_fall_lie(impact=SOFT, lie_s=7.0)
    t = grid_times(len(acc), 100.0)
    [event] = WearerStream().feed(t, acc)
    assert CONFIG.confirm_cutoff <= event.score < CONFIG.score_cutoff
    assert event.t_impact == pytest.approx(106.0)
    assert event.t_detect - event.t_impact == pytest.approx(CONFIG.confirm_s)
    # The same features as at settle_s: the event is the candidate, only decided later.
    assert event.angle_deg == pytest.approx(90.0, abs=0.5)
    assert event.score == fall_score(
        CONFIG, event.peak_g, event.angle_deg, event.stillness_g, event.velocity_change_gs
    )
    for chunk in (1, 7, 64):
        assert events_of(t, acc, chunk) == [event]


def test_a_soft_fall_followed_by_a_return_to_the_posture_before_is_not_a_fall() -> None:
    # Rolled onto the side and back 4 s later (SisFall D14), or lay down and got up again.
    lie = stand_fall_lie(impact=SOFT, lie_s=4.0)
    acc = np.concatenate([lie, np.tile([0.0, 0.0, 1.0], (5 * int(CONFIG.rate_hz), 1))])
    assert falls_at(acc, grid_times(len(acc))) == []
    # A clear fall is decided at settle_s, whatever the wearer does afterwards.
    hard = np.concatenate([stand_fall_lie(lie_s=4.0), acc[len(lie) :]])
    assert len(falls_at(hard, grid_times(len(hard)))) == 1


def test_a_held_candidate_is_not_superseded_by_a_later_larger_impact() -> None:
    # Lying after a soft fall, the wearer is shaken by a larger knock 4 s later (a bed rail,
    # a helper) without changing posture: the fall is still confirmed.
    acc = with_impact(stand_fall_lie(impact=SOFT, lie_s=8.0), 10.0, [2.5, 0.0, 0.0])
    events = WearerStream().feed(np.arange(len(acc)) * STEP, acc)
    assert [round(e.t_impact, 6) for e in events][:1] == [6.0]


def detect_then_finish(acc: Array, t0: float = 0.0, chunk: int | None = None) -> list[FallEvent]:
    """Events of one stream of 50 Hz ``acc`` fed in chunks, then ended by :func:`finish`."""
    state, events, size = initial_state([t0]), [], chunk or len(acc)
    for lo in range(0, len(acc), size):
        state, found = detect(state, acc[None, lo : lo + size], CONFIG)
        events += found
    return events + finish(state, CONFIG)[1]


def test_a_held_soft_fall_at_the_end_of_a_stream_is_decided_on_its_last_sample() -> None:
    # The recording ends 4 s after a faint, before confirm_s: still lying, so a fall, with
    # the features it had at settle_s and t_detect the last sample's time.
    acc = stand_fall_lie(impact=SOFT, lie_s=4.0)
    [confirmed] = WearerStream().feed(*with_grid(stand_fall_lie(impact=SOFT, lie_s=7.0), 100.0))
    [event] = detect_then_finish(acc, 100.0)
    assert event.t_detect == 100.0 + (len(acc) - 1) * STEP
    assert event.t_detect - event.t_impact < CONFIG.confirm_s
    assert replace(event, t_detect=confirmed.t_detect) == confirmed
    for chunk in (1, 7, 64):
        assert detect_then_finish(acc, 100.0, chunk) == [event]
    assert WearerStream().feed(*with_grid(acc, 100.0)) == []  # held until the stream ends


def with_grid(acc: Array, t0: float) -> tuple[Array, Array]:
    return grid_times(len(acc), t0), acc


def test_finish_rejects_a_held_candidate_whose_posture_changed() -> None:
    # Rolled onto the side and back up 3 s after the soft impact; the stream ends 1 s later.
    lie = stand_fall_lie(impact=SOFT, lie_s=3.0)
    acc = np.concatenate([lie, np.tile([0.0, 0.0, 1.0], (int(CONFIG.rate_hz), 1))])
    assert detect_then_finish(acc) == []


def test_finish_without_a_held_candidate_decides_nothing() -> None:
    quiet = np.tile([0.0, 0.0, 1.0], (100, 1))
    state, _ = detect(initial_state([0.0]), quiet[None], CONFIG)
    assert finish(state, CONFIG) == (state, [])
    assert finish(initial_state([0.0, 1.0]), CONFIG)[1] == []
    # A clear fall was decided at settle_s; an impact 1 s before the end has not settled.
    assert len(detect_then_finish(stand_fall_lie(lie_s=4.0))) == 1
    assert detect_then_finish(stand_fall_lie(impact=SOFT, lie_s=1.0)) == []
    # Held, but the stream saw the wearer down for less than end_min_s: no evidence yet.
    short = stand_fall_lie(impact=SOFT, lie_s=CONFIG.end_min_s - 0.5)
    assert detect_then_finish(short) == []


def test_finish_on_many_streams_equals_each_stream_alone() -> None:
    n = int(11.2 * CONFIG.rate_hz)  # every soft impact is less than confirm_s before the end
    signals = [
        stand_fall_lie(impact=SOFT, lie_s=4.0),  # held, still down: a fall
        stand_fall_lie(impact=SOFT, lie_s=3.0),  # held, then up again (below)
        stand_fall_lie(lie_s=4.0),  # a clear fall, decided at settle_s
        np.tile([0.0, 0.0, 1.0], (n, 1)),  # nothing
        stand_fall_lie(quiet_s=7.0, impact=SOFT, lie_s=3.0),  # held, still down
    ]
    signals[1] = np.concatenate([signals[1], np.tile([0.0, 0.0, 1.0], (n, 1))])[:n]
    starts = [0.0, 5.0, -2.5, 1e4, 3.0]
    acc = np.stack([np.pad(a, ((0, n - len(a)), (0, 0)), "edge") for a in signals])
    state, events = detect(initial_state(starts), acc, CONFIG)
    _, ended = finish(state, CONFIG)
    alone = [
        replace(e, stream=i) for i, a in enumerate(acc) for e in detect_then_finish(a, starts[i])
    ]
    assert sorted(events + ended, key=attrgetter("stream", "t_impact")) == sorted(
        alone, key=attrgetter("stream", "t_impact")
    )
    assert [e.stream for e in ended] == [0, 4]


def test_a_gap_ends_the_stream_and_decides_the_held_fall() -> None:
    # The wearable goes silent 4 s after a faint and comes back 5 s later: the detector
    # restarts on the new segment, and the held fall is decided on the last sample before.
    acc = stand_fall_lie(impact=SOFT, lie_s=4.0)
    t = grid_times(len(acc))
    stream = WearerStream()
    assert stream.feed(t, acc) == []
    [event] = stream.feed(t[-1] + 5.0 + grid_times(10), acc[-10:])
    assert event.t_detect == pytest.approx(t[-1])
    assert stream.finish() == []
