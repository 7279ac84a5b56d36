"""SisFall played as other sensors: rates, sampling modes and rotations, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.detect.fall import FallConfig
from gateway.evaluate_rates import (
    SETTINGS,
    Recording,
    Setting,
    alarms,
    as_sensor,
    load_recordings,
    random_rotation,
)
from gateway.evaluate_sisfall import DATA_DIR


def ramp(n: int = 400) -> np.ndarray:
    return np.stack([np.arange(n), -np.arange(n), np.full(n, 1.0)], axis=1) / 100.0


def test_subsampling_keeps_every_kth_sample_at_its_raw_time() -> None:
    acc = ramp()
    t, out = as_sensor(acc, Setting(20, "sub", False), np.random.default_rng(0))
    phase = round(t[0] * 200)
    assert 0 <= phase < 10
    assert np.array_equal(out, acc[phase::10])
    assert np.allclose(np.diff(t), 0.05)


def test_block_means_are_stamped_at_the_block_centre() -> None:
    t, out = as_sensor(ramp(), Setting(50, "mean", False), np.random.default_rng(0))
    assert len(out) == 100
    assert t[0] == pytest.approx(1.5 / 200)
    assert np.allclose(out[0], ramp()[:4].mean(axis=0))
    with pytest.raises(ValueError, match="mode"):
        as_sensor(ramp(), Setting(50, "median", False), np.random.default_rng(0))


def test_rotation_is_proper_and_keeps_magnitudes() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        r = random_rotation(rng)
        assert np.allclose(r @ r.T, np.eye(3))
        assert np.linalg.det(r) == pytest.approx(1.0)
    _, turned = as_sensor(ramp(), Setting(200, "sub", True), np.random.default_rng(1))
    assert np.allclose(np.linalg.norm(turned, axis=1), np.linalg.norm(ramp(), axis=1))
    assert not np.allclose(turned, ramp())


def test_a_fall_is_caught_and_a_jog_is_not_in_every_setting() -> None:
    assert (DATA_DIR / "trials.csv").is_file(), f"SisFall data missing from {DATA_DIR}"
    wanted = {"F01_SA01_R01": True, "F13_SA01_R01": True, "D04_SA01_R01": False}
    recs: list[Recording] = [r for r in load_recordings() if r.trial_id in wanted]
    for setting in SETTINGS:
        raised = alarms(recs, setting, FallConfig())
        assert raised.tolist() == [wanted[r.trial_id] for r in recs], setting
