"""``python -m gateway.replay accel``: JSON lines on stdout, one line per bad file on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from gateway.detect.resample import WearerStream
from gateway.replay import RecordingError, read_accel_csv
from tests.gateway.detect.test_fall import CONFIG, SOFT, grid_times, stand_fall_lie, trial

REPO = Path(__file__).resolve().parents[2]
Array = NDArray[np.float64]


def irregular_times(n: int, seed: int) -> Array:
    jitter = np.random.default_rng(seed).uniform(-0.3, 0.3, n)
    return 3.5 + (np.arange(n) + jitter) / 200.0


def write_csv(path: Path, t: Array, acc: Array) -> Path:
    rows = (
        f"{ti!r},{x!r},{y!r},{z!r}" for ti, (x, y, z) in zip(t.tolist(), acc.tolist(), strict=True)
    )
    path.write_text("t,ax,ay,az\n" + "\n".join(rows) + "\n")
    return path


def run_replay(*files: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.replay", "accel", *map(str, files)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def expected_lines(path: Path, t: Array, acc: Array) -> list[dict[str, object]]:
    stream = WearerStream()
    return [
        {"file": str(path), "type": "fall", "t_impact": e.t_impact, "t_detect": e.t_detect}
        for e in [*stream.feed(t, acc), *stream.finish()]
    ]


@pytest.fixture
def recordings(tmp_path: Path) -> dict[str, tuple[Path, list[dict[str, object]]]]:
    out = {}
    for name, trial_id, seed in [("fall", "F01_SA01_R01", 1), ("adl", "D13_SA01_R01", 2)]:
        acc = trial(trial_id)
        t = irregular_times(len(acc), seed)
        path = write_csv(tmp_path / f"{name}.csv", t, acc)
        out[name] = (path, expected_lines(path, t, acc))
    assert len(out["fall"][1]) == 1
    assert out["adl"][1] == []
    return out


def test_good_files_print_exactly_one_json_object_per_fall(
    recordings: dict[str, tuple[Path, list[dict[str, object]]]],
) -> None:
    (fall, fall_events), (adl, _) = recordings["fall"], recordings["adl"]
    done = run_replay(fall, adl)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.endswith("\n")
    lines = done.stdout.splitlines()
    assert [json.loads(line) for line in lines] == fall_events
    printed = json.loads(lines[0])
    assert list(printed) == ["file", "type", "t_impact", "t_detect"]
    assert printed["file"] == str(fall)  # the path as given
    assert printed["t_detect"] == pytest.approx(printed["t_impact"] + 2.5)
    assert 3.5 + 6.0 < printed["t_impact"] < 3.5 + 9.0  # the slip's impact, on the file's clock


def test_a_soft_fall_near_the_end_of_a_clip_is_decided_on_its_last_sample(
    tmp_path: Path,
) -> None:
    # A faint 4 s before the clip ends, before its confirmation at confirm_s: the wearer is
    # still down at the last sample, so the end of the file decides it a fall. A clip where
    # the wearer gets up again before the end prints nothing.
    down = stand_fall_lie(impact=SOFT, lie_s=4.0)
    t = grid_times(len(down), 3.5)
    fall = write_csv(tmp_path / "faint.csv", t, down)
    up = np.concatenate([stand_fall_lie(impact=SOFT, lie_s=3.0), np.tile([0.0, 0.0, 1.0], (50, 1))])
    got_up = write_csv(tmp_path / "got_up.csv", grid_times(len(up), 3.5), up)
    done = run_replay(fall, got_up)
    assert done.returncode == 0, done.stderr
    [printed] = [json.loads(line) for line in done.stdout.splitlines()]
    assert printed["file"] == str(fall)
    assert printed["t_impact"] == pytest.approx(3.5 + 6.0)
    assert printed["t_detect"] == pytest.approx(float(t[-1]))
    assert printed["t_detect"] - printed["t_impact"] < CONFIG.confirm_s


def test_broken_files_are_named_on_stderr_and_the_good_ones_still_reported(
    tmp_path: Path, recordings: dict[str, tuple[Path, list[dict[str, object]]]]
) -> None:
    (fall, fall_events), (adl, _) = recordings["fall"], recordings["adl"]
    header = tmp_path / "header.csv"
    header.write_text("time,x,y,z\n0.0,0,0,1\n")
    text = tmp_path / "text.csv"
    text.write_text("t,ax,ay,az\n0.0,0,0,1\n0.01,0,0,1\n\n0.02,0,zero,1\n")
    backwards = tmp_path / "backwards.csv"
    backwards.write_text("t,ax,ay,az\n0.0,0,0,1\n0.01,0,0,1\n0.02,0,0,1\n0.015,0,0,1\n")
    missing = tmp_path / "missing.csv"
    done = run_replay(header, fall, text, missing, backwards, adl)
    assert done.returncode == 1
    assert [json.loads(line) for line in done.stdout.splitlines()] == fall_events
    errors = done.stderr.splitlines()
    assert len(errors) == 4, done.stderr
    for message, path, line in zip(
        errors, [header, text, missing, backwards], ["line 1", "line 5", "", "line 5"], strict=True
    ):
        assert str(path) in message
        assert line in message


def test_reader_accepts_crlf_a_bom_blank_lines_and_nan_values(tmp_path: Path) -> None:
    path = tmp_path / "windows.csv"
    path.write_bytes(b"\xef\xbb\xbft, ax, ay, az\r\n0.0,0,0,1\r\n\r\n0.02,nan,0,1\r\n")
    rows, lines = read_accel_csv(str(path))
    assert rows.shape == (2, 4)
    assert lines.tolist() == [2, 4]
    assert np.isnan(rows[1, 1])
    empty = tmp_path / "empty.csv"
    empty.write_text("t,ax,ay,az\n")
    assert read_accel_csv(str(empty))[0].shape == (0, 4)


@pytest.mark.parametrize(
    ("content", "line"),
    [("", "line 1"), ("t,ax,ay\n", "line 1"), ("t,ax,ay,az\n0,0,0\n", "line 2")],
)
def test_reader_refuses_a_missing_header_and_short_rows(
    tmp_path: Path, content: str, line: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(RecordingError, match=line):
        read_accel_csv(str(path))
