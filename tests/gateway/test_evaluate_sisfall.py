"""The SisFall evaluation: subject-wise folds, exact score filtering, honest counting."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gateway.detect.fall import FallConfig, FallEvent
from gateway.evaluate_sisfall import (
    DATA_DIR,
    T0,
    Candidates,
    Outcome,
    Trial,
    agreement,
    block_mean,
    confirm_config,
    fit_config,
    fit_weights,
    load_trials,
    open_config,
    rates,
    run_detector,
    subject_folds,
    summarise,
)
from gateway.fall_cutoffs import choose_cutoffs

SAMPLE = (
    *("F02_SA02_R03", "D13_SA03_R02", "D13_SA01_R01", "F07_SA04_R01", "F13_SA05_R02"),
    *("F13_SE06_R01", "F10_SE06_R02", "D14_SE06_R01", "D14_SA01_R01", "D08_SE01_R01"),
    *("D01_SA01_R01", "F01_SA10_R02", "D19_SA05_R03"),
)


@pytest.fixture(scope="module")
def trials() -> list[Trial]:
    # No skip: without the data there is no evaluation, and that is a failure.
    assert (DATA_DIR / "trials.csv").is_file(), f"SisFall data missing from {DATA_DIR}"
    return load_trials()


def test_block_mean_converts_counts_to_g_and_drops_a_partial_block() -> None:
    counts = np.array([[256, 0, -256]] * 4 + [[0, 256, 0]] * 4 + [[999, 999, 999]] * 3)
    assert np.allclose(block_mean(counts.astype(np.int16)), [[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def test_folds_are_subject_wise_and_deterministic(trials: list[Trial]) -> None:
    subjects = [t.subject for t in trials]
    folds = subject_folds(subjects)
    flat = [s for fold in folds for s in fold]
    assert sorted(flat) == sorted(set(subjects))
    assert len(flat) == len(set(flat)) == 38
    assert [len(f) for f in folds] == [8, 8, 8, 7, 7]
    assert folds[0][:3] == ["SA01", "SA06", "SA11"]  # sorted, dealt round robin
    assert subject_folds(list(reversed(subjects))) == folds
    # Every trial is held out exactly once, with all the other trials of its subject.
    assert {sum(t.subject in fold for fold in folds) for t in trials} == {1}


def test_score_filtering_equals_real_runs(trials: list[Trial]) -> None:
    by_id = {t.trial_id: t for t in trials}
    sample = [by_id[i] for i in SAMPLE]
    c = Candidates.of_trials(sample)
    is_fall = np.array([t.is_fall for t in sample])
    fitted, _ = fit_config(c, is_fall, np.ones(len(sample), bool))
    default = FallConfig()
    configs = [
        default,
        fitted,
        open_config(),
        confirm_config(),
        replace(default, score_cutoff=default.score_cutoff + 3.0),
        replace(default, confirm_cutoff=default.score_cutoff),  # nothing held
        replace(default, min_angle_deg=60.0, max_still_g=0.2),
    ]
    idx = np.arange(len(sample))
    for config in configs:
        ended: list[FallEvent] = []
        counts = agreement(run_detector(sample, config, ended=ended), idx, config, c, ended)
        assert counts["exact_events"] == counts["exact_alarm"] == len(sample), config
        assert counts["exact_ended"] == counts["ended_trials"], config
    # ...and the check notices a run that is not the filtered configuration.
    counts = agreement(run_detector(sample, open_config()), idx, default, c)
    assert counts["exact_events"] < len(sample)


def test_the_default_config_is_near_the_fit_on_all_subjects(trials: list[Trial]) -> None:
    # The shipped score is the fit on all subjects (see FallConfig): its weights and cut-offs
    # must still be the fit's, and its alarms within 0.1 point of the fitted configuration's.
    c = Candidates.of_trials(trials)
    is_fall = np.array([t.is_fall for t in trials])
    fitted, fitted_pct = fit_config(c, is_fall, np.ones(len(trials), bool))
    default = FallConfig()
    assert np.allclose(default.score_weights, fitted.score_weights, atol=0.05)
    assert np.allclose(default.feature_mean, fitted.feature_mean, rtol=0.02)
    assert np.allclose(default.feature_scale, fitted.feature_scale, rtol=0.05)
    assert default.score_bias == pytest.approx(fitted.score_bias, abs=0.05)
    assert default.score_cutoff == pytest.approx(fitted.score_cutoff, abs=0.1)
    assert default.confirm_cutoff == pytest.approx(fitted.confirm_cutoff, abs=0.1)
    shipped = Outcome.from_candidates(c, *c.decisions(default), len(trials))
    assert rates(shipped.alarm, is_fall)["mean_pct"] >= fitted_pct - 0.1


def test_fit_uses_only_the_training_trials(trials: list[Trial]) -> None:
    by_id = {t.trial_id: t for t in trials}
    sample = [by_id[i] for i in SAMPLE]
    c = Candidates.of_trials(sample)
    is_fall = np.array([t.is_fall for t in sample])
    train = np.arange(len(sample)) < 7  # with a gated ADL (D13_SA03) and gated falls
    a, _ = fit_config(c, is_fall, train)
    b, _ = fit_config(c, np.where(train, is_fall, ~is_fall), train)  # test labels flipped
    assert a == b


def test_logistic_fit_finds_the_separating_feature() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 4))
    y = x[:, 3] + 0.1 * rng.normal(size=400) > 1.0  # few positives: the balance matters
    mean, scale, w, bias = fit_weights(x, y)
    assert np.argmax(np.abs(w)) == 3
    assert w[3] > 0
    z = (x - mean) / scale @ w + bias
    assert ((z >= 0) == y).mean() > 0.95


def choose_cutoff(best: np.ndarray, is_fall: np.ndarray) -> tuple[float, float]:
    """The cut-off when nothing would be confirmed: one cut-off, nothing held."""
    hi, lo, mean = choose_cutoffs(best, np.full(len(best), -np.inf), is_fall)
    assert lo == hi
    return hi, mean


def test_cutoff_maximises_the_balanced_rate_ties_nearest_zero() -> None:
    best = np.array([3.0, 1.0, -np.inf, -2.0, 0.5, 2.0])
    is_fall = np.array([True, True, True, False, False, False])
    cut, mean = choose_cutoff(best, is_fall)
    # Any cut-off in (0.5, 1.0] or in (2.0, 3.0] gives 2 of 3 falls and 2 of 3 ADLs; the
    # midpoint of the first interval is nearest 0.
    assert (cut, mean) == (0.75, round(100 * (2 / 3 + 2 / 3) / 2, 2))
    cut, mean = choose_cutoff(np.array([-5.0, 5.0]), np.array([False, True]))
    assert (cut, mean) == (0.0, 100.0)
    cut, mean = choose_cutoff(np.full(2, -np.inf), np.array([True, False]))
    assert mean == 50.0


def test_cutoffs_hold_the_weak_falls_that_stay_down() -> None:
    # Trial scores: three clear falls, two weak falls the wearer stayed down after (held
    # scores -3 and -4), one weak ADL that stayed down (-6), two that did not (held -inf).
    now = np.array([3.0, 2.5, 2.0, -3.0, -4.0, -6.0, -0.5, -1.0])
    held = np.array([-np.inf, -np.inf, -np.inf, -3.0, -4.0, -6.0, -np.inf, -np.inf])
    is_fall = np.array([True] * 5 + [False] * 3)
    cutoffs = choose_cutoffs(now, held, is_fall, late_share=0.5)
    # At once from 0.75 (between -0.5 and 2.0); held from -5.0 (between -6 and -4).
    assert cutoffs == (0.75, -5.0, 100.0)
    # With no fall allowed to wait, it is the single cut-off, and nothing is held.
    assert choose_cutoffs(now, held, is_fall, late_share=0.0) == (0.75, 0.75, 80.0)
    assert choose_cutoff(now, is_fall) == (0.75, 80.0)


def test_a_fit_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both"):
        fit_weights(np.zeros((3, 4)), np.ones(3, bool))


def _trial(activity: str, *, elderly: bool = False, seconds: float = 10.0) -> Trial:
    acc = np.tile([0.0, 0.0, 1.0], (round(seconds * 50), 1))
    return Trial(
        f"{activity}_X",
        "SE01" if elderly else "SA01",
        elderly,
        activity,
        activity.startswith("F"),
        acc,
        t_peak=4.0,
    )


def test_metrics_on_a_hand_made_example() -> None:
    trials = [
        _trial("F01"),
        _trial("F01"),
        _trial("D14"),
        _trial("D14", elderly=True),
        _trial("D01", elderly=True),
    ]
    nan = np.nan
    out = Outcome(
        alarm=np.array([True, False, False, True, False]),
        t_impact=np.array([4.1, nan, nan, 2.0, nan]),
        t_detect=np.array([6.6, nan, nan, 4.5, nan]),
    )
    res = summarise(trials, out)
    assert res["all"] == {
        "sensitivity_pct": 50.0,
        "specificity_pct": 66.67,
        "mean_pct": 58.34,
        "falls": 2,
        "adls": 3,
    }
    assert res["elderly"]["sensitivity_pct"] is None  # no elderly fall in this example
    assert res["elderly"]["specificity_pct"] == 50.0
    assert res["false_alarm_pct_by_adl"]["D14"] == {
        "all": 50.0,
        "n_all": 2,
        "elderly": 100.0,
        "n_elderly": 1,
    }
    assert res["false_alarm_pct_by_adl"]["D01"]["all"] == 0.0
    assert res["missed_falls_by_activity"] == {"F01": "1/2"}
    assert res["delay_impact_to_decision_s"]["p50"] == pytest.approx(2.5)
    assert res["delay_dataset_impact_to_decision_s"]["p50"] == pytest.approx(2.6)
    assert rates(np.array([True, True]), np.array([False, False]))["sensitivity_pct"] is None


def test_a_fall_decided_after_the_recording_ends_is_not_counted() -> None:
    def fall_at(seconds: float, impact_s: float) -> Trial:
        t = _trial("F01", seconds=seconds)
        k = round(impact_s * 50)
        t.acc[k] = [0.0, 0.0, 3.5]
        t.acc[k + 1 :] = [1.0, 0.0, 0.0]  # lying on the side, still
        return t

    # Run side by side, the shorter trial is padded with its last sample (still, lying) past
    # the decision point; that decision is not the trial's.
    late: list[FallEvent] = []
    [[event], []] = run_detector([fall_at(20.0, 8.0), fall_at(11.0, 10.0)], FallConfig(), late=late)
    assert event.t_impact == pytest.approx(T0 + 8.0)
    assert event.t_detect == pytest.approx(T0 + 10.5)
    [dropped] = late
    assert dropped.stream == 1
    assert dropped.t_impact == pytest.approx(T0 + 10.0)


def test_a_held_fall_at_the_end_of_a_recording_is_decided_there_as_replay_does() -> None:
    def faint_at(seconds: float, impact_s: float) -> Trial:
        t = _trial("F13", seconds=seconds)
        k = round(impact_s * 50)
        t.acc[k] = [1.2, 0.0, 1.6]  # a soft impact: held for its confirmation
        t.acc[k + 1 :] = [1.0, 0.0, 0.0]  # lying on the side, still
        return t

    # Side by side with a longer trial (padded): the short one ends 4.5 s after its faint,
    # before confirm_s, and is decided on its last sample; the long one at confirm_s.
    trials = [faint_at(20.0, 8.0), faint_at(11.5, 7.0)]
    ended: list[FallEvent] = []
    [[confirmed], [at_end]] = run_detector(trials, FallConfig(), ended=ended)
    assert ended == [at_end]
    assert confirmed.t_detect - confirmed.t_impact == pytest.approx(FallConfig().confirm_s)
    assert at_end.t_detect == pytest.approx(T0 + (len(trials[1].acc) - 1) / 50)
    # The same as the stream a replayed file would be, and as filtering the candidates.
    [alone] = run_detector(trials[1:], FallConfig())
    assert alone == [replace(at_end, stream=0)]
    c = Candidates.of_trials(trials)
    idx = np.arange(2)
    counts = agreement([[confirmed], [at_end]], idx, FallConfig(), c, ended)
    assert counts == {
        "trials": 2,
        "exact_events": 2,
        "exact_alarm": 2,
        "ended_trials": 1,
        "exact_ended": 1,
    }
