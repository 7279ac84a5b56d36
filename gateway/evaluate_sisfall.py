"""Subject-wise evaluation of the fall detector on SisFall (``python -m gateway.evaluate_sisfall``).

Every trial is a fresh wearer: a new detector state, the recording fed in one block. The
200 Hz ADXL345 counts become g and then the detector's 50 Hz grid by averaging blocks of 4
samples (a boxcar anti-alias filter and decimation in one step; a trailing partial block,
under 20 ms, is dropped). A 50 Hz sample is stamped at the centre of its block, 7.5 ms after
the block's first raw sample, so detector times and raw-sample times share one clock.

The fall score's weights and cut-offs are choices, so they are fitted on some subjects and
scored on others: k subject folds, each scored with a configuration fitted on the other
folds (a class-balanced logistic regression over the gated candidates, then the two cut-offs,
immediate and confirmed, maximising sensitivity + specificity of trial alarms). The fit is
fast because the detector's candidates (start, peak window, decision times, features, and
whether the wearer stays in the new posture until ``confirm_s``) depend only on
``impact_g`` and the windows, which are fixed: the pre-gate and the score only accept, hold
or reject a decided candidate. So the detector runs twice with everything open (every
candidate reported at ``settle_s``; every candidate held, so the confirmed ones are reported
at ``confirm_s``), and each fold is an exact filter over those candidates, scored with the
detector's own ``fall_score``. A real detector run per fold with the fitted configuration
checks that, event for event.

Each recording ends as a replayed file does: a candidate still waiting for its confirmation
at the last sample is decided there (:func:`gateway.detect.fall.finish`), in the real runs and,
through the confirmation times of the held run, in the filtering. Decisions the detector would
only make later (a candidate that has not settled, or was held less than ``end_min_s``) are not
counted.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit

from gateway.detect.fall import FEATURES, FallConfig, FallEvent, fall_score, feature_values
from gateway.fall_batch import run_recordings
from gateway.fall_cutoffs import choose_cutoffs

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data" / "sisfall"
RAW_HZ = 200.0
BLOCK = 4  # raw samples per 50 Hz sample
COUNTS_TO_G = 32.0 / 8192.0  # ADXL345 +-16 g, 13 bit
T0 = (BLOCK - 1) / 2 / RAW_HZ  # s, centre of the first block
FOLDS = 5
L2 = 0.01  # penalty on the standardised weights: keeps a near-separable fit finite
PUBLISHED = {  # Sucerquia et al., Sensors 2017, and later ML work on SisFall (DOMAIN.md)
    "best_single_feature_mean_pct": 96.15,
    "young_to_elderly_sensitivity_pct": 85.33,
    "young_to_elderly_specificity_pct": 98.10,
    "ml_sensitivity_pct": 99.0,
    "ml_specificity_pct": 99.0,
}


@dataclass(frozen=True)
class Trial:
    trial_id: str
    subject: str
    elderly: bool
    activity: str  # D01..D19, F01..F15
    is_fall: bool
    acc: Array  # (n, 3) g on the 50 Hz grid
    t_peak: float  # s, the raw sample of largest |a|: the dataset's impact, approximately


def block_mean(counts: NDArray[np.int16]) -> Array:
    """Raw (n, 3) counts at 200 Hz -> (n // 4, 3) g at 50 Hz, mean of each block of 4."""
    n = len(counts) // BLOCK * BLOCK
    blocks = counts[:n].reshape(-1, BLOCK, 3).astype(np.float64)
    return np.asarray(blocks.mean(axis=1) * COUNTS_TO_G)


def load_trials(data_dir: Path = DATA_DIR) -> list[Trial]:
    """All trials, in ``trials.csv`` order; raises FileNotFoundError when the data is absent."""
    with np.load(data_dir / "sisfall_adxl345_200hz.npz") as npz:
        samples, offsets = npz["samples"], npz["offsets"]
    with (data_dir / "trials.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) + 1 != len(offsets):
        raise ValueError(f"{len(rows)} trials in trials.csv, {len(offsets) - 1} in the npz")
    trials = []
    for row, lo, hi in zip(rows, offsets[:-1], offsets[1:], strict=True):
        raw = samples[lo:hi]
        wide = raw.astype(np.int64)
        trials.append(
            Trial(
                trial_id=row["trial_id"],
                subject=row["subject"],
                elderly=row["age_group"] == "elderly",
                activity=row["activity"],
                is_fall=row["is_fall"] == "1",
                acc=block_mean(raw),
                t_peak=float(np.argmax(np.einsum("nk,nk->n", wide, wide)) / RAW_HZ),
            )
        )
    return trials


def run_detector(
    trials: Sequence[Trial],
    config: FallConfig,
    batch: int = 1024,
    late: list[FallEvent] | None = None,
    ended: list[FallEvent] | None = None,
) -> list[list[FallEvent]]:
    """Events per trial, each trial a fresh stream ended at its last sample, as ``python -m
    gateway.replay`` ends a file; ``stream`` is the trial's index.

    Trials of similar length run side by side (:func:`gateway.fall_batch.run_recordings`);
    events decided in the padding after a trial go to ``late``, not to the result, and those
    decided by the end of the stream also to ``ended``.
    """
    run = run_recordings([t.acc for t in trials], [T0] * len(trials), config, batch)
    if late is not None:
        late += run.late
    if ended is not None:
        ended += run.ended
    return run.events


@dataclass(frozen=True)
class Candidates:
    """Decided candidates of every trial, flat, in trial then time order."""

    trial: NDArray[np.int64]
    peak_g: Array
    angle_deg: Array
    stillness_g: Array
    velocity_change_gs: Array
    t_impact: Array
    t_detect: Array
    t_confirmed: Array  # s, when a held candidate would be confirmed; NaN if it would not

    @classmethod
    def from_events(
        cls,
        per_trial: Sequence[Sequence[FallEvent]],
        confirmed: Sequence[Sequence[FallEvent]] | None = None,
    ) -> Candidates:
        """Candidates from an ``open_config`` run, confirmation times from a
        ``confirm_config`` run (matched by trial and impact time)."""
        flat = [e for events in per_trial for e in events]
        held = {(e.stream, e.t_impact): e.t_detect for events in confirmed or [] for e in events}

        def col(name: str) -> Array:
            return np.array([getattr(e, name) for e in flat], dtype=np.float64)

        return cls(
            np.array([e.stream for e in flat], dtype=np.int64),
            col("peak_g"),
            col("angle_deg"),
            col("stillness_g"),
            col("velocity_change_gs"),
            col("t_impact"),
            col("t_detect"),
            np.array([held.get((e.stream, e.t_impact), np.nan) for e in flat], np.float64),
        )

    @classmethod
    def of_trials(cls, trials: Sequence[Trial], base: FallConfig | None = None) -> Candidates:
        """Every candidate of ``trials``, from the two open runs."""
        opened = run_detector(trials, open_config(base))
        return cls.from_events(opened, run_detector(trials, confirm_config(base)))

    def gated(self, config: FallConfig) -> Mask:
        """The detector's pre-gate, the same comparisons on the same floats."""
        return np.asarray(
            (self.angle_deg >= config.min_angle_deg) & (self.stillness_g <= config.max_still_g)
        )

    def scores(self, config: FallConfig) -> Array:
        """``fall_score`` of every candidate, bit for bit the detector's."""
        rows = zip(*(getattr(self, name).tolist() for name in FIELDS), strict=True)
        return np.array([fall_score(config, *row) for row in rows], dtype=np.float64)

    def features(self) -> Array:
        """(candidates, 4) raw features in ``FEATURES`` order, for fitting."""
        rows = zip(*(getattr(self, name).tolist() for name in FIELDS), strict=True)
        return np.array([feature_values(*row) for row in rows], dtype=np.float64).reshape(-1, 4)

    def decisions(self, config: FallConfig) -> tuple[Mask, Array]:
        """The candidates a detector run with ``config`` reports as falls, and when."""
        gated, scores = self.gated(config), self.scores(config)
        now = gated & (scores >= config.score_cutoff)
        held = gated & ~now & (scores >= config.confirm_cutoff) & ~np.isnan(self.t_confirmed)
        return now | held, np.where(held, self.t_confirmed, self.t_detect)

    def accepted(self, config: FallConfig) -> Mask:
        return self.decisions(config)[0]


FIELDS = ("peak_g", "angle_deg", "stillness_g", "velocity_change_gs")


def open_config(base: FallConfig | None = None) -> FallConfig:
    """``base`` with the pre-gate open and no cut-off: every candidate is reported."""
    return replace(
        base or FallConfig(),
        min_angle_deg=-1.0,
        max_still_g=float("inf"),
        score_cutoff=float("-inf"),
    )


def confirm_config(base: FallConfig | None = None) -> FallConfig:
    """``base`` with every candidate held for confirmation: the confirmed ones are reported."""
    return replace(open_config(base), score_cutoff=float("inf"), confirm_cutoff=float("-inf"))


def fit_weights(x: Array, y: Mask, l2: float = L2) -> tuple[Array, Array, Array, float]:
    """Class-balanced logistic regression on standardised features.

    Minimises ``sum_i c_i * logloss(z_i) + l2 * |w|^2`` with ``c_i`` = half the sample count
    over the count of its class (each class weighs half), by BFGS with the exact gradient.
    Returns (mean, scale, weights, bias); raises ValueError unless both classes are present.
    """
    if y.all() or not y.any():
        raise ValueError("a fit needs both falls and ADLs among the gated candidates")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = (x - mean) / scale
    t = y.astype(np.float64)
    c = np.where(y, 0.5 / t.mean(), 0.5 / (1.0 - t.mean()))

    def loss(p: Array) -> tuple[float, Array]:
        u = z @ p[1:] + p[0]
        g = c * (expit(u) - t)
        value = float(np.sum(c * (np.logaddexp(0.0, u) - t * u)) + l2 * np.sum(p[1:] ** 2))
        return value, np.concatenate([[g.sum()], z.T @ g + 2.0 * l2 * p[1:]])

    p = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="BFGS").x
    return mean, scale, p[1:], float(p[0])


def trial_max_score(c: Candidates, config: FallConfig, n_trials: int, held: bool = False) -> Array:
    """Per trial the highest score among its gated candidates (``held``: among those that
    would be confirmed); -inf without one."""
    best = np.full(n_trials, -np.inf)
    ok = c.gated(config) & (~np.isnan(c.t_confirmed) if held else True)
    np.maximum.at(best, c.trial[ok], c.scores(config)[ok])
    return best


def fit_config(
    c: Candidates, is_fall: Mask, train: Mask, base: FallConfig | None = None
) -> tuple[FallConfig, float]:
    """Score weights and cut-offs fitted on the ``train`` trials only; the rest is ``base``.

    The weights are fitted on the gated candidates of those trials, each labelled by its
    trial. Returns the configuration and its training (SE + SP) / 2 in %.
    """
    base = base or FallConfig()
    fit = train[c.trial] & c.gated(base)
    mean, scale, weights, bias = fit_weights(c.features()[fit], is_fall[c.trial[fit]])

    def tup(a: Array) -> tuple[float, float, float, float]:
        w, x, y, z = a.tolist()
        return (w, x, y, z)

    config = replace(
        base,
        feature_mean=tup(mean),
        feature_scale=tup(scale),
        score_weights=tup(weights),
        score_bias=bias,
    )
    n = len(is_fall)
    now, held = trial_max_score(c, config, n), trial_max_score(c, config, n, held=True)
    cutoff, confirm, mean_pct = choose_cutoffs(now[train], held[train], is_fall[train])
    return replace(config, score_cutoff=cutoff, confirm_cutoff=confirm), mean_pct


@dataclass(frozen=True)
class Outcome:
    """Per trial: whether an alarm was raised, and the first alarm's impact and decision time."""

    alarm: Mask
    t_impact: Array  # NaN without alarm
    t_detect: Array

    @classmethod
    def from_candidates(
        cls, c: Candidates, accepted: Mask, decided: Array, n_trials: int
    ) -> Outcome:
        """Alarms of the ``accepted`` candidates, decided at ``decided`` (s): the first
        decision of each trial."""
        order = np.flatnonzero(accepted)
        order = order[np.lexsort((c.t_impact[order], decided[order], c.trial[order]))]
        trial = c.trial[order]
        first = order[np.unique(trial, return_index=True)[1]]
        t_impact, t_detect = np.full(n_trials, np.nan), np.full(n_trials, np.nan)
        t_impact[c.trial[first]] = c.t_impact[first]
        t_detect[c.trial[first]] = decided[first]
        return cls(~np.isnan(t_detect), t_impact, t_detect)

    def subset(self, keep: Mask) -> Outcome:
        return Outcome(self.alarm[keep], self.t_impact[keep], self.t_detect[keep])

    def merged(self, other: Outcome, take_other: Mask) -> Outcome:
        return Outcome(
            np.where(take_other, other.alarm, self.alarm),
            np.where(take_other, other.t_impact, self.t_impact),
            np.where(take_other, other.t_detect, self.t_detect),
        )


def subject_folds(subjects: Sequence[str], k: int = FOLDS) -> list[list[str]]:
    """Sorted distinct subjects dealt round robin into ``k`` folds."""
    ordered = sorted(set(subjects))
    return [ordered[i::k] for i in range(k)]


def balanced_score(alarm: Mask, is_fall: Mask) -> tuple[int, int, int, int]:
    """(tp, fn, tn, fp) of trial-level alarms."""
    tp = int((alarm & is_fall).sum())
    fp = int((alarm & ~is_fall).sum())
    return tp, int(is_fall.sum()) - tp, int((~is_fall).sum()) - fp, fp


def _event_keys(events: Sequence[FallEvent]) -> list[tuple[float, ...]]:
    """Every field of each event, in decision order (ties: impact order)."""
    keys = [(e.t_impact, e.t_detect, *(getattr(e, f) for f in (*FIELDS, "score"))) for e in events]
    return sorted(keys, key=lambda key: (key[1], key[0]))


AGREEMENT_KEYS = ("trials", "exact_events", "exact_alarm", "ended_trials", "exact_ended")


def agreement(
    real: Sequence[Sequence[FallEvent]],
    idx: NDArray[np.int64],
    config: FallConfig,
    c: Candidates,
    ended: Sequence[FallEvent] = (),
) -> dict[str, int]:
    """Compare ``real[j]``, a run with ``config`` on trial ``idx[j]``, with filtering ``c``.

    Counts trials whose events are identical (every field, bit for bit, the score included),
    and trials whose alarm decision is identical; among the trials with a decision at the end
    of the stream (``ended``, events of ``real`` by ``stream`` j), those whose events are.
    """
    counts = dict.fromkeys(AGREEMENT_KEYS, 0) | {"trials": len(idx)}
    at_end = {e.stream for e in ended}
    ok, decided = c.decisions(config)
    scores = c.scores(config)
    columns = (c.t_impact, decided, *(getattr(c, f) for f in FIELDS), scores)
    for j, i in enumerate(idx):
        sel = np.flatnonzero(ok & (c.trial == i))
        got = sorted(
            (tuple(float(col[k]) for col in columns) for k in sel),
            key=lambda key: (key[1], key[0]),
        )
        want = _event_keys(real[j])
        counts["exact_events"] += got == want
        counts["exact_alarm"] += bool(got) == bool(want)
        counts["ended_trials"] += j in at_end
        counts["exact_ended"] += j in at_end and got == want
    return counts


def _pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 2) if den else None


def _fmt(pct: float | None, width: int) -> str:
    return f"{'-':>{width}}" if pct is None else f"{pct:{width}.2f}"


def rates(alarm: Mask, is_fall: Mask) -> dict[str, Any]:
    """Sensitivity, specificity and their mean in %, None where there is nothing to count."""
    tp, fn, tn, fp = balanced_score(alarm, is_fall)
    se, sp = _pct(tp, tp + fn), _pct(tn, tn + fp)
    mean = None if se is None or sp is None else round((se + sp) / 2, 2)
    return {"sensitivity_pct": se, "specificity_pct": sp, "mean_pct": mean} | {
        "falls": tp + fn,
        "adls": tn + fp,
    }


def _by_activity(
    out: Outcome, is_fall: Mask, elderly: Mask, activity: NDArray[np.str_]
) -> dict[str, Any]:
    false_alarms = {}
    for code in sorted(set(activity[~is_fall].tolist())):
        row: dict[str, Any] = {}
        for name, g in (("all", activity == code), ("elderly", elderly & (activity == code))):
            row[name] = _pct(int(out.alarm[g].sum()), int(g.sum()))
            row[f"n_{name}"] = int(g.sum())
        false_alarms[code] = row
    missed = {
        code: f"{int((~out.alarm & (activity == code)).sum())}/{int((activity == code).sum())}"
        for code in sorted(set(activity[is_fall].tolist()))
    }
    return {"false_alarm_pct_by_adl": false_alarms, "missed_falls_by_activity": missed}


def _delays(out: Outcome, is_fall: Mask, t_peak: Array) -> dict[str, Any]:
    hit = out.alarm & is_fall
    res: dict[str, Any] = {}
    for name, delay in (
        ("delay_impact_to_decision_s", out.t_detect[hit] - out.t_impact[hit]),
        ("delay_dataset_impact_to_decision_s", out.t_detect[hit] - t_peak[hit]),
    ):
        p50, p90 = np.percentile(delay, [50, 90]).tolist() if len(delay) else (None, None)
        res[name] = {"p50": p50 and round(p50, 3), "p90": p90 and round(p90, 3)}
    res["alarm_before_dataset_impact"] = int((out.t_detect[hit] < t_peak[hit]).sum())
    return res


def summarise(trials: Sequence[Trial], out: Outcome) -> dict[str, Any]:
    """Rates overall, for adults and elderly; false alarms per ADL, misses per fall; delays."""
    is_fall = np.array([t.is_fall for t in trials])
    elderly = np.array([t.elderly for t in trials])
    activity = np.array([t.activity for t in trials])
    res: dict[str, Any] = {}
    for name, g in (
        ("all", np.ones(len(trials), bool)),
        ("adults", ~elderly),
        ("elderly", elderly),
    ):
        if g.any():
            res[name] = rates(out.alarm[g], is_fall[g])
    res |= _by_activity(out, is_fall, elderly, activity)
    return res | _delays(out, is_fall, np.array([t.t_peak for t in trials]))


def score_params(config: FallConfig) -> dict[str, Any]:
    """The fitted part of a configuration, as FallConfig keyword arguments."""
    names = (
        *("feature_mean", "feature_scale", "score_weights", "score_bias"),
        *("score_cutoff", "confirm_cutoff"),
    )
    return {name: getattr(config, name) for name in names}


def _checked(
    trials: Sequence[Trial], c: Candidates, idx: NDArray[np.int64], config: FallConfig
) -> tuple[Outcome, dict[str, int]]:
    """Trials ``idx`` scored by filtering ``c`` with ``config``, and checked by a real run."""
    out = Outcome.from_candidates(c, *c.decisions(config), len(trials))
    ended: list[FallEvent] = []
    real = run_detector([trials[i] for i in idx.tolist()], config, ended=ended)
    return out, agreement(real, idx, config, c, ended)


def _default_run(trials: Sequence[Trial], c: Candidates) -> dict[str, Any]:
    """The shipped configuration over everyone, run for real; events after a recording ends."""
    late: list[FallEvent] = []
    ended: list[FallEvent] = []
    events = run_detector(trials, FallConfig(), late=late, ended=ended)
    ran = Candidates.from_events(events)
    out = Outcome.from_candidates(ran, np.ones(len(ran.trial), bool), ran.t_detect, len(trials))
    late_falls = {e.stream for e in late if trials[e.stream].is_fall}
    return summarise(trials, out) | {
        "config": score_params(FallConfig()),
        "agreement": agreement(events, np.arange(len(trials)), FallConfig(), c, ended),
        "decided_after_recording_end": {
            "events": len(late),
            "fall_trials": len(late_falls),
            "fall_trials_otherwise_missed": sum(not out.alarm[i] for i in late_falls),
        },
        "decided_at_recording_end": {
            "events": len(ended),
            "fall_trials": len({e.stream for e in ended if trials[e.stream].is_fall}),
            "adl_trials": len({e.stream for e in ended if not trials[e.stream].is_fall}),
        },
    }


def _loso(trials: Sequence[Trial], c: Candidates, is_fall: Mask) -> dict[str, Any]:
    """Each subject fold scored with a configuration fitted on the others, run for real."""
    subjects = np.array([t.subject for t in trials])
    n = len(trials)
    loso = Outcome(np.zeros(n, bool), np.full(n, np.nan), np.full(n, np.nan))
    folds, agree = [], dict.fromkeys(AGREEMENT_KEYS, 0)
    for fold in subject_folds(subjects.tolist()):
        test = np.isin(subjects, fold)
        config, fitted = fit_config(c, is_fall, ~test)
        out, counts = _checked(trials, c, np.flatnonzero(test), config)
        loso = loso.merged(out, test)
        agree = {key: agree[key] + counts[key] for key in AGREEMENT_KEYS}
        folds.append({"subjects": fold, "config": score_params(config), "train_mean_pct": fitted})
    return summarise(trials, loso) | {"folds": folds, "agreement": agree}


def evaluate(trials: Sequence[Trial]) -> dict[str, Any]:
    """Leave-subjects-out, young-to-elderly and default figures, each checked by real runs."""
    is_fall = np.array([t.is_fall for t in trials])
    elderly = np.array([t.elderly for t in trials])
    c = Candidates.of_trials(trials)
    config, fitted = fit_config(c, is_fall, ~elderly)
    out, agree = _checked(trials, c, np.flatnonzero(elderly), config)
    young_to_elderly = summarise([t for t in trials if t.elderly], out.subset(elderly))
    full, full_pct = fit_config(c, is_fall, np.ones(len(trials), bool))
    return {
        "loso": _loso(trials, c, is_fall),
        "young_to_elderly": young_to_elderly
        | {"config": score_params(config), "train_mean_pct": fitted, "agreement": agree},
        "default": _default_run(trials, c),
        "all_subjects_fit": {"config": score_params(full), "train_mean_pct": full_pct},
        "candidates": len(c.trial),
        "published": PUBLISHED,
    }


def _figure_rows(res: dict[str, Any]) -> list[str]:
    rows = [f"{'':36}{'sens %':>8}{'spec %':>8}{'mean %':>8}{'falls':>7}{'ADLs':>7}"]
    for label, key in (
        ("leave-subjects-out, 5 subject folds", "loso"),
        ("young -> elderly (fit on SA, test SE)", "young_to_elderly"),
        ("default FallConfig (fitted on SisFall: in-sample)", "default"),
    ):
        rows.append(label)
        for group in ("all", "adults", "elderly"):
            if group not in res[key] or (key == "young_to_elderly" and group == "all"):
                continue
            f = res[key][group]
            name = "elderly (falls: SE06 only)" if group == "elderly" else group
            rows.append(
                f"  {name:34}{_fmt(f['sensitivity_pct'], 8)}{_fmt(f['specificity_pct'], 8)}"
                f"{_fmt(f['mean_pct'], 8)}{f['falls']:7d}{f['adls']:7d}"
            )
    p = res["published"]
    rows.append(
        f"published (SisFall): best single feature mean {p['best_single_feature_mean_pct']} %; "
        f"young -> elderly {p['young_to_elderly_sensitivity_pct']} / "
        f"{p['young_to_elderly_specificity_pct']} %; ML about {p['ml_sensitivity_pct']:.0f} / "
        f"{p['ml_specificity_pct']:.0f} %"
    )
    return rows


def _activity_rows(res: dict[str, Any]) -> list[str]:
    loso, default = res["loso"], res["default"]
    rows = [
        "",
        "false alarms, % of ADL trials       n all  n eld  LOSO all  LOSO eld  def all  def eld",
    ]
    for code, fa in loso["false_alarm_pct_by_adl"].items():
        d = default["false_alarm_pct_by_adl"][code]
        rows.append(
            f"  {code:32}{fa['n_all']:7d}{fa['n_elderly']:7d}{_fmt(fa['all'], 10)}"
            f"{_fmt(fa['elderly'], 10)}{_fmt(d['all'], 9)}{_fmt(d['elderly'], 9)}"
        )
    rows += ["", "missed falls by activity      LOSO  default"]
    for code, missed in loso["missed_falls_by_activity"].items():
        rows.append(f"  {code:24}{missed:>9}{default['missed_falls_by_activity'][code]:>9}")
    return rows


def _delay_rows(res: dict[str, Any]) -> list[str]:
    loso, default = res["loso"], res["default"]
    rows = ["", "delay to the decision, s, first alarm of each detected fall"]
    for label, key in (
        ("from the detector's impact", "delay_impact_to_decision_s"),
        ("from the dataset's impact (max |a|)", "delay_dataset_impact_to_decision_s"),
    ):
        a, b = loso[key], default[key]
        rows.append(
            f"  {label:38} LOSO p50 {a['p50']} p90 {a['p90']}; "
            f"default p50 {b['p50']} p90 {b['p90']}"
        )
    rows.append(
        f"  alarms decided before the dataset's impact: LOSO {loso['alarm_before_dataset_impact']}"
        f", default {default['alarm_before_dataset_impact']}"
    )
    late = default["decided_after_recording_end"]
    rows.append(
        f"  default: {late['events']} events decided after the recording ended, not counted "
        f"({late['fall_trials']} in fall trials, "
        f"{late['fall_trials_otherwise_missed']} of them otherwise missed)"
    )
    end = default["decided_at_recording_end"]
    rows.append(
        f"  default: {end['events']} held events decided at the recording's end "
        f"({end['fall_trials']} fall trials, {end['adl_trials']} ADL trials)"
    )
    return rows


def _fmt_params(p: dict[str, Any]) -> str:
    w = " ".join(f"{v:+.2f}" for v in p["score_weights"])
    return (
        f"w {w}  b {p['score_bias']:+.2f}  cut {p['score_cutoff']:+.3f}"
        f" confirm {p['confirm_cutoff']:+.3f}"
    )


def _fit_rows(res: dict[str, Any]) -> list[str]:
    rows = [
        "",
        f"score weights on standardised {', '.join(FEATURES)}; train mean %, test subjects",
    ]
    for i, f in enumerate(res["loso"]["folds"]):
        rows.append(
            f"  fold {i}: {_fmt_params(f['config'])}  {f['train_mean_pct']:.2f}  "
            f"{' '.join(f['subjects'])}"
        )
    for label, key in (
        ("young -> elderly", "young_to_elderly"),
        ("all subjects", "all_subjects_fit"),
    ):
        f = res[key]
        rows.append(f"  {label}: {_fmt_params(f['config'])}  {f['train_mean_pct']:.2f}")
    rows += ["", "filtering the open run's candidates vs real detector runs, % of trials identical"]
    for label, a in (
        ("LOSO folds", res["loso"]["agreement"]),
        ("young -> elderly", res["young_to_elderly"]["agreement"]),
        ("default", res["default"]["agreement"]),
    ):
        n = a["trials"]
        rows.append(
            f"  {label:17} events {_fmt(_pct(a['exact_events'], n), 6)}, "
            f"alarms {_fmt(_pct(a['exact_alarm'], n), 6)}  (n={n}); decided at the end "
            f"of the recording {_fmt(_pct(a['exact_ended'], a['ended_trials']), 6)} "
            f"(n={a['ended_trials']})"
        )
    rows += ["", "fitted on all subjects, for FallConfig (python -m gateway.evaluate_sisfall):"]
    rows += [
        f"    {k}: float = {v!r}" if isinstance(v, float) else f"    {k}: Features = {v!r}"
        for k, v in res["all_subjects_fit"]["config"].items()
    ]
    return rows


def main() -> None:
    started = time.perf_counter()
    trials = load_trials()
    res = evaluate(trials)
    falls = sum(t.is_fall for t in trials)
    subjects = len({t.subject for t in trials})
    print(
        f"SisFall, waist ADXL345 200 Hz -> 50 Hz block means of 4; {subjects} subjects, "
        f"{len(trials)} trials ({falls} falls, {len(trials) - falls} ADLs); "
        "alarm = at least one fall event in the trial"
    )
    rows = _figure_rows(res) + _activity_rows(res) + _delay_rows(res) + _fit_rows(res)
    print("\n".join(rows))
    print(f"elapsed {time.perf_counter() - started:.1f} s")
    print(json.dumps(res, sort_keys=True, allow_nan=False))


if __name__ == "__main__":
    main()
