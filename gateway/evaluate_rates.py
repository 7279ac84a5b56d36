"""The default fall detector on SisFall as other sensors would deliver it
(``python -m gateway.evaluate_rates``).

The detector must work for sensors it was never fitted on: other rates, other mountings. This
plays every SisFall trial (200 Hz raw, in g) as such a sensor would, with the shipped
:class:`~gateway.detect.fall.FallConfig` and nothing refitted, through the gateway's own
path (:func:`~gateway.detect.resample.resample` onto the detector's grid, then
:func:`~gateway.detect.fall.detect`, each recording ended as a replayed file is):

- ``sub``: every k-th raw sample from a random phase, as a sensor sampling at 200/k Hz with no
  anti-alias filter (short impact peaks may fall between samples: the hard case);
- ``mean``: block means of k raw samples, as a sensor whose output is low-passed at its rate;
- each trial turned by its own random proper rotation (a device worn any way round), except
  in the first, unrotated, setting.

Seeded, so two runs print the same figures. Use it to check that a change which helps on
:mod:`gateway.evaluate_sisfall` does not cost on other rates and rotations.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gateway.detect.fall import FallConfig
from gateway.detect.resample import flush, initial_resample_state, resample
from gateway.evaluate_sisfall import COUNTS_TO_G, DATA_DIR, RAW_HZ
from gateway.fall_batch import run_recordings

Array = NDArray[np.float64]
SEED = 1


@dataclass(frozen=True)
class Setting:
    """One way of playing the recordings: a rate, a sampling mode, rotated or not."""

    rate_hz: int  # divides 200
    mode: str  # "sub" or "mean"
    rotated: bool

    @property
    def label(self) -> str:
        turn = "rotated" if self.rotated else "as worn"
        return f"{self.rate_hz:3d} Hz {self.mode:4} {turn}"


SETTINGS = (
    Setting(200, "sub", False),
    Setting(100, "sub", True),
    Setting(50, "sub", True),
    Setting(20, "sub", True),
    Setting(20, "mean", True),
)


@dataclass(frozen=True)
class Recording:
    trial_id: str
    activity: str
    elderly: bool
    is_fall: bool
    acc: Array  # (n, 3) g at RAW_HZ


def load_recordings() -> list[Recording]:
    """Every SisFall trial in g at 200 Hz; raises FileNotFoundError without the data."""
    with np.load(DATA_DIR / "sisfall_adxl345_200hz.npz") as npz:
        samples, offsets = npz["samples"], npz["offsets"]
    with (DATA_DIR / "trials.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [
        Recording(
            row["trial_id"],
            row["activity"],
            row["age_group"] == "elderly",
            row["is_fall"] == "1",
            np.asarray(samples[lo:hi] * COUNTS_TO_G, dtype=np.float64),
        )
        for row, lo, hi in zip(rows, offsets[:-1], offsets[1:], strict=True)
    ]


def random_rotation(rng: np.random.Generator) -> Array:
    """A uniformly random proper rotation matrix (det +1)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return np.asarray(q)


def as_sensor(acc: Array, setting: Setting, rng: np.random.Generator) -> tuple[Array, Array]:
    """A 200 Hz recording as the sensor of ``setting`` would give it: times (s) and g."""
    k = round(RAW_HZ / setting.rate_hz)
    if setting.mode == "sub":
        phase = int(rng.integers(k))
        out = acc[phase::k]
        t: Array = (phase + k * np.arange(len(out))) / RAW_HZ
    elif setting.mode == "mean":
        n = len(acc) // k * k
        out = np.asarray(acc[:n].reshape(-1, k, 3).mean(axis=1), dtype=np.float64)
        t = np.asarray((k * np.arange(len(out)) + (k - 1) / 2) / RAW_HZ, dtype=np.float64)
    else:
        raise ValueError(f"unknown sampling mode {setting.mode!r}")
    rotation = random_rotation(rng)  # drawn either way: settings share the random stream
    return t, np.asarray(out @ rotation.T if setting.rotated else out)


def alarms(
    recordings: Sequence[Recording], setting: Setting, config: FallConfig, batch: int = 1024
) -> NDArray[np.bool_]:
    """Per recording, whether the detector raised a fall by the recording's end: the stream
    ends there, as ``python -m gateway.replay`` ends a file (the resampler flushed, held
    candidates decided on the last sample)."""
    rng = np.random.default_rng(SEED)
    grids: list[Array] = []
    for rec in recordings:
        t, acc = as_sensor(rec.acc, setting, rng)
        state, segments = resample(initial_resample_state(), t, acc, config.rate_hz)
        segments += flush(state)[1]
        grids.append(np.concatenate([s.acc for s in segments]) if segments else acc[:0])
    run = run_recordings(grids, [0.0] * len(grids), config, batch)
    return np.array([bool(events) for events in run.events], dtype=bool)


def summary_row(recordings: Sequence[Recording], raised: NDArray[np.bool_]) -> str:
    """Sensitivity, specificity (all, elderly) in %, and the wrong trials per activity code."""
    fall = np.array([r.is_fall for r in recordings])
    elderly = np.array([r.elderly for r in recordings])
    activity = np.array([r.activity for r in recordings])
    se = 100.0 * raised[fall].mean()
    sp = 100.0 - 100.0 * raised[~fall].mean()
    sp_elderly = 100.0 - 100.0 * raised[~fall & elderly].mean()
    wrong = raised != fall
    codes = " ".join(
        f"{code}:{int((wrong & (activity == code)).sum())}"
        for code in sorted(set(activity[wrong].tolist()))
    )
    return f"{se:8.2f}{sp:8.2f}{sp_elderly:9.2f}{(se + sp) / 2:8.2f}  {codes}"


def main() -> None:
    started = time.perf_counter()
    recordings = load_recordings()
    config = FallConfig()
    print(f"SisFall, {len(recordings)} trials as other sensors, default FallConfig, seed {SEED}")
    print(f"{'':26}{'sens %':>8}{'spec %':>8}{'spec eld':>9}{'mean %':>8}  wrong trials")
    for setting in SETTINGS:
        print(f"  {setting.label:24}{summary_row(recordings, alarms(recordings, setting, config))}")
    print(f"elapsed {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
