"""Subject-wise evaluation of the fall detector on SisFall (``python -m gateway.evaluate_sisfall``).

Every trial is a fresh wearer: a new detector state, the recording fed in one block. The
200 Hz ADXL345 counts become g and then the detector's 50 Hz grid by averaging blocks of 4
samples (a boxcar anti-alias filter and decimation in one step; a trailing partial block,
under 20 ms, is dropped). A 50 Hz sample is stamped at the centre of its block, 7.5 ms after
the block's first raw sample, so detector times and raw-sample times share one clock.

Thresholds (impact_g, min_angle_deg, max_still_g) are choices, so they are fitted on some
subjects and scored on others: k subject folds, each scored with thresholds chosen on the
other folds by a small grid maximising sensitivity + specificity, ties going to the shipped
defaults. The grid is fast because the detector's candidates (start, peak window, decision
time) depend only on ``impact_g``: angle and stillness only accept or reject a decided
candidate. So the detector runs once per impact_g with the other two conditions open, and
every triple is an exact filter over those candidates. Real runs with the chosen thresholds
check it, along with the cheaper one-pass approximation (candidates of the lowest impact_g
filtered by their peak), which is not exact because a lower threshold starts candidates
earlier.

Falls decided after a recording ends are not counted: the detector did not see that long.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from gateway.detect.fall import FallConfig, FallEvent, detect, initial_state

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data" / "sisfall"
RAW_HZ = 200.0
BLOCK = 4  # raw samples per 50 Hz sample
COUNTS_TO_G = 32.0 / 8192.0  # ADXL345 +-16 g, 13 bit
T0 = (BLOCK - 1) / 2 / RAW_HZ  # s, centre of the first block
FOLDS = 5
GRID = {
    "impact_g": (1.6, 1.8, 2.0, 2.2, 2.5),
    "min_angle_deg": (35.0, 40.0, 45.0, 50.0, 60.0),
    "max_still_g": (0.15, 0.2, 0.3, 0.4),
}
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


class Thresholds(NamedTuple):
    impact_g: float
    min_angle_deg: float
    max_still_g: float

    def config(self, base: FallConfig | None = None) -> FallConfig:
        return replace(base or FallConfig(), **self._asdict())


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


def _batches(order: list[int], size: int) -> Iterator[list[int]]:
    for lo in range(0, len(order), size):
        yield order[lo : lo + size]


def run_detector(
    trials: Sequence[Trial],
    config: FallConfig,
    batch: int = 1024,
    late: list[FallEvent] | None = None,
) -> list[list[FallEvent]]:
    """Events per trial, each trial a fresh stream; ``stream`` is the trial's index.

    Trials of similar length run side by side as the streams of one ``detect`` call, padded
    with their last sample; events decided in the padding go to ``late``, not to the result.
    """
    out: list[list[FallEvent]] = [[] for _ in trials]
    order = sorted(range(len(trials)), key=lambda i: len(trials[i].acc))
    for chunk in _batches(order, batch):
        n = max(len(trials[i].acc) for i in chunk)
        acc = np.stack(
            [np.pad(trials[i].acc, ((0, n - len(trials[i].acc)), (0, 0)), "edge") for i in chunk]
        )
        _, events = detect(initial_state(np.full(len(chunk), T0)), acc, config)
        for e in events:
            i = chunk[e.stream]
            if round((e.t_detect - T0) * config.rate_hz) < len(trials[i].acc):
                out[i].append(replace(e, stream=i))
            elif late is not None:
                late.append(replace(e, stream=i))
    return out


@dataclass(frozen=True)
class Candidates:
    """Decided candidates of every trial, flat, in trial then time order."""

    trial: NDArray[np.int64]
    peak_g: Array
    angle_deg: Array
    stillness_g: Array
    t_impact: Array
    t_detect: Array

    @classmethod
    def from_events(cls, per_trial: Sequence[Sequence[FallEvent]]) -> Candidates:
        flat = [e for events in per_trial for e in events]

        def col(name: str) -> Array:
            return np.array([getattr(e, name) for e in flat], dtype=np.float64)

        return cls(
            np.array([e.stream for e in flat], dtype=np.int64),
            col("peak_g"),
            col("angle_deg"),
            col("stillness_g"),
            col("t_impact"),
            col("t_detect"),
        )

    def passing(self, th: Thresholds) -> Mask:
        return np.asarray(
            (self.peak_g >= th.impact_g)
            & (self.angle_deg >= th.min_angle_deg)
            & (self.stillness_g <= th.max_still_g)
        )


def open_config(impact_g: float) -> FallConfig:
    """The shipped configuration with only the impact condition: every candidate is reported.

    A candidate with angle exactly 0 may still be dropped (its cosine rounds above 1); no grid
    angle would accept it anyway.
    """
    return replace(FallConfig(), impact_g=impact_g, min_angle_deg=0.0, max_still_g=float("inf"))


@dataclass(frozen=True)
class Outcome:
    """Per trial: whether an alarm was raised, and the first alarm's impact and decision time."""

    alarm: Mask
    t_impact: Array  # NaN without alarm
    t_detect: Array

    @classmethod
    def from_candidates(cls, c: Candidates, accepted: Mask, n_trials: int) -> Outcome:
        trial = c.trial[accepted]
        first = np.unique(trial, return_index=True)[1]  # candidates are in time order
        t_impact, t_detect = np.full(n_trials, np.nan), np.full(n_trials, np.nan)
        t_impact[trial[first]] = c.t_impact[accepted][first]
        t_detect[trial[first]] = c.t_detect[accepted][first]
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


def default_thresholds() -> Thresholds:
    return Thresholds(*(getattr(FallConfig(), name) for name in GRID))


def _distance_to_default(th: Thresholds) -> float:
    default = default_thresholds()
    return sum(
        abs(v - d) / (max(GRID[name]) - min(GRID[name]))
        for name, v, d in zip(GRID, th, default, strict=True)
    )


def choose_thresholds(
    tables: dict[float, Candidates], is_fall: Mask, train: Mask
) -> tuple[Thresholds, float]:
    """The grid triple maximising sensitivity + specificity on ``train`` trials.

    Exact integer comparison (tp * N + tn * P over the common denominator P * N); ties go to
    the triple nearest the shipped defaults. Returns it and its (SE + SP) / 2 in %.
    """
    n = len(is_fall)
    best: tuple[int, float, Thresholds] | None = None
    for th in (Thresholds(*t) for t in product(*GRID.values())):
        alarm = Outcome.from_candidates(tables[th.impact_g], tables[th.impact_g].passing(th), n)
        tp, fn, tn, fp = balanced_score(alarm.alarm[train], is_fall[train])
        key = (tp * (tn + fp) + tn * (tp + fn), -_distance_to_default(th), th)
        if best is None or key[:2] > best[:2]:
            best = key
    assert best is not None
    tp_fn, tn_fp = int(is_fall[train].sum()), int((~is_fall[train]).sum())
    return best[2], round(100.0 * best[0] / (tp_fn * tn_fp) / 2, 2)


def fit_and_score(
    tables: dict[float, Candidates], is_fall: Mask, train: Mask, test: Mask
) -> tuple[Thresholds, float, Outcome]:
    th, fitted = choose_thresholds(tables, is_fall, train)
    table = tables[th.impact_g]
    return th, fitted, Outcome.from_candidates(table, table.passing(th), len(is_fall))


def _event_keys(events: Sequence[FallEvent]) -> list[tuple[float, ...]]:
    return [(e.t_impact, e.t_detect, e.peak_g, e.angle_deg, e.stillness_g) for e in events]


AGREEMENT_KEYS = ("trials", "exact_events", "exact_alarm", "one_pass_events", "one_pass_alarm")


def agreement(
    real: Sequence[Sequence[FallEvent]],
    idx: NDArray[np.int64],
    th: Thresholds,
    tables: dict[float, Candidates],
) -> dict[str, int]:
    """Compare ``real[j]``, a run with ``th`` on trial ``idx[j]``, with both filtering schemes.

    Counts trials whose events are identical (every field, bit for bit), and trials whose
    alarm decision is identical.
    """
    counts = dict.fromkeys(AGREEMENT_KEYS, 0) | {"trials": len(idx)}
    for scheme, table in (("exact", tables[th.impact_g]), ("one_pass", tables[min(tables)])):
        ok = table.passing(th)
        columns = (table.t_impact, table.t_detect, table.peak_g, table.angle_deg)
        for j, i in enumerate(idx):
            sel = np.flatnonzero(ok & (table.trial == i))
            got = [(*(float(c[k]) for c in columns), float(table.stillness_g[k])) for k in sel]
            want = _event_keys(real[j])
            counts[f"{scheme}_events"] += got == want
            counts[f"{scheme}_alarm"] += bool(got) == bool(want)
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


def _default_run(trials: Sequence[Trial], tables: dict[float, Candidates]) -> dict[str, Any]:
    """The shipped configuration over everyone, run for real; events after a recording ends."""
    late: list[FallEvent] = []
    events = run_detector(trials, FallConfig(), late=late)
    c = Candidates.from_events(events)
    out = Outcome.from_candidates(c, np.ones(len(c.trial), bool), len(trials))
    late_falls = {e.stream for e in late if trials[e.stream].is_fall}
    return summarise(trials, out) | {
        "thresholds": default_thresholds()._asdict(),
        "agreement": agreement(events, np.arange(len(trials)), default_thresholds(), tables),
        "decided_after_recording_end": {
            "events": len(late),
            "fall_trials": len(late_falls),
            "fall_trials_otherwise_missed": sum(not out.alarm[i] for i in late_falls),
        },
    }


def _loso(
    trials: Sequence[Trial], tables: dict[float, Candidates], is_fall: Mask
) -> dict[str, Any]:
    """Each subject fold scored with thresholds fitted on the others, checked by real runs."""
    subjects = np.array([t.subject for t in trials])
    n = len(trials)
    loso = Outcome(np.zeros(n, bool), np.full(n, np.nan), np.full(n, np.nan))
    folds, agree = [], dict.fromkeys(AGREEMENT_KEYS, 0)
    for fold in subject_folds(subjects.tolist()):
        test = np.isin(subjects, fold)
        th, fitted, out = fit_and_score(tables, is_fall, ~test, test)
        loso = loso.merged(out, test)
        idx = np.flatnonzero(test)
        real = run_detector([trials[i] for i in idx.tolist()], th.config())
        for key, count in agreement(real, idx, th, tables).items():
            agree[key] += count
        folds.append({"subjects": fold, "thresholds": th._asdict(), "train_mean_pct": fitted})
    return summarise(trials, loso) | {"folds": folds, "agreement": agree}


def evaluate(trials: Sequence[Trial]) -> dict[str, Any]:
    """Leave-subjects-out, young-to-elderly and default figures, each with its filter check."""
    is_fall = np.array([t.is_fall for t in trials])
    elderly = np.array([t.elderly for t in trials])
    tables = {
        g: Candidates.from_events(run_detector(trials, open_config(g))) for g in GRID["impact_g"]
    }
    th, fitted, out = fit_and_score(tables, is_fall, ~elderly, elderly)
    young_to_elderly = summarise([t for t in trials if t.elderly], out.subset(elderly))
    return {
        "loso": _loso(trials, tables, is_fall),
        "young_to_elderly": young_to_elderly
        | {"thresholds": th._asdict(), "train_mean_pct": fitted},
        "default": _default_run(trials, tables),
        "published": PUBLISHED,
    }


def _figure_rows(res: dict[str, Any]) -> list[str]:
    rows = [f"{'':36}{'sens %':>8}{'spec %':>8}{'mean %':>8}{'falls':>7}{'ADLs':>7}"]
    for label, key in (
        ("leave-subjects-out, 5 subject folds", "loso"),
        ("young -> elderly (fit on SA, test SE)", "young_to_elderly"),
        ("default FallConfig, no fitting", "default"),
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
    return rows


def _threshold_rows(res: dict[str, Any]) -> list[str]:
    rows = [
        "",
        "thresholds chosen (impact_g, min_angle_deg, max_still_g), train mean %, test subjects",
    ]
    for i, f in enumerate(res["loso"]["folds"]):
        th = tuple(f["thresholds"].values())
        rows.append(f"  fold {i}: {th}  {f['train_mean_pct']:.2f}  {' '.join(f['subjects'])}")
    ye = res["young_to_elderly"]
    rows.append(
        f"  young -> elderly: {tuple(ye['thresholds'].values())}  {ye['train_mean_pct']:.2f}"
    )
    rows += ["", "threshold filtering vs real detector runs, % of trials identical"]
    for label, a in (
        ("LOSO folds", res["loso"]["agreement"]),
        ("default", res["default"]["agreement"]),
    ):
        n = a["trials"]
        rows.append(
            f"  {label:10} per-impact_g candidates: events {_fmt(_pct(a['exact_events'], n), 6)},"
            f" alarms {_fmt(_pct(a['exact_alarm'], n), 6)}; one pass at impact_g "
            f"{min(GRID['impact_g'])}: events {_fmt(_pct(a['one_pass_events'], n), 6)}, "
            f"alarms {_fmt(_pct(a['one_pass_alarm'], n), 6)}  (n={n})"
        )
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
    rows = _figure_rows(res) + _activity_rows(res) + _delay_rows(res) + _threshold_rows(res)
    print("\n".join(rows))
    print(f"elapsed {time.perf_counter() - started:.1f} s")
    print(json.dumps(res, sort_keys=True, allow_nan=False))


if __name__ == "__main__":
    main()
