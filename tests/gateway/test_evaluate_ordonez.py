"""Ordonez house A: the conversion to neutral events and the evaluation of the home monitor."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from gateway.detect.home_events import SensorEvent, SensorKind, format_local, read_events
from gateway.detect.home_events import parse_local as at
from gateway.evaluate_ordonez import (
    DATA_DIR,
    RUN_AFTER_CUT_S,
    Evaluation,
    OrdonezFormatError,
    collapse_cuts,
    evaluate,
    load_events,
    main,
    parse_sensors,
    write_csv,
)

REPO = Path(__file__).resolve().parents[2]

SAMPLE = (
    "Start time          \tEnd time            \tLocation\tType\t\tPlace\r\n"
    "--------------------\t--------------------\t--------\t--------\t-----\r\n"
    "2011-11-28 02:27:59\t\t2011-11-28 10:18:11\t\tBed\t\t\tPressure\tBedroom\r\n"
    "2011-11-28 10:18:11\t\t2011-11-28 10:19:00\t\tBasin\t\tPIR\t\t\tBathroom\r\n"
    "2011-11-28 10:19:00\t\t2011-11-28 10:19:05\t\tToilet\t\tFlush\t\tBathroom\r\n"
    "2011-11-28 10:20:00\t\t2011-11-28 10:20:04\t\tMaindoor\tMagnetic\tEntrance\r\n"
    "2011-11-28 10:20:02\t\t2011-11-28 10:30:00\t\tFridge\t\tMagnetic\tKitchen \r\n"
    "2011-11-28 10:21:00\t\t2011-11-28 10:22:00\t\tSeat\t\tPressure\tLiving\r\n"
    "2011-11-28 10:21:30\t\t2011-11-28 10:21:40\t\tToaster\t\tElectric\tKitchen\r\n"
)


def test_conversion_of_a_sample_log() -> None:
    events = parse_sensors(SAMPLE)
    assert len(events) == 14
    kinds = {e.device: e.kind for e in events}
    assert kinds == {
        "Bed": SensorKind.BED,
        "Basin": SensorKind.MOTION,
        "Toilet": SensorKind.APPLIANCE,
        "Maindoor": SensorKind.EXIT_DOOR,
        "Fridge": SensorKind.DOOR,
        "Seat": SensorKind.SEAT,
        "Toaster": SensorKind.APPLIANCE,
    }
    assert {e.room for e in events} == {"Bedroom", "Bathroom", "Entrance", "Kitchen", "Living"}
    # At 10:18:11 the bed empties before the basin PIR fires; at 10:19:00 likewise.
    assert [(format_local(e.time)[11:], e.device, e.value) for e in events[:5]] == [
        ("02:27:59", "Bed", 1),
        ("10:18:11", "Bed", 0),
        ("10:18:11", "Basin", 1),
        ("10:19:00", "Basin", 0),
        ("10:19:00", "Toilet", 1),
    ]


def test_conversion_errors_name_the_line() -> None:
    broken = SAMPLE + "2011-11-28 11:00:00\t2011-11-28 11:00:05\tLamp\tX10\tLiving\r\n"
    with pytest.raises(OrdonezFormatError, match="line 10"):
        parse_sensors(broken)
    short = SAMPLE + "2011-11-28 11:00:00\tBasin\tPIR\r\n"
    with pytest.raises(OrdonezFormatError, match="line 10"):
        parse_sensors(short)


@pytest.fixture(scope="module")
def ordonez() -> list[SensorEvent]:
    assert (DATA_DIR / "OrdonezA_Sensors.txt").is_file(), f"missing data in {DATA_DIR}"
    return load_events()


def test_ordonez_log_converts_to_sorted_neutral_events(ordonez: list[SensorEvent]) -> None:
    assert len(ordonez) == 2 * 409  # 411 lines (no final newline), two of them the header
    times = [e.time for e in ordonez]
    assert times == sorted(times)
    for a, b in itertools.pairwise(ordonez):
        if a.time == b.time:
            assert (a.value, b.value) != (1, 0)
    per_kind = Counter(e.kind for e in ordonez if e.value == 1)
    assert per_kind == {
        SensorKind.MOTION: 70 + 13 + 14,  # Basin, Cooktop, Shower
        SensorKind.DOOR: 16 + 34 + 56,  # Cabinet, Cupboard, Fridge
        SensorKind.EXIT_DOOR: 31,
        SensorKind.BED: 15,
        SensorKind.SEAT: 81,
        SensorKind.APPLIANCE: 20 + 14 + 45,  # Microwave, Toaster, Toilet flush
    }
    assert format_local(ordonez[0].time) == "2011-11-28 02:27:59"


def test_written_csv_reads_back_and_replays_like_the_evaluation(
    ordonez: list[SensorEvent],
    tmp_path: Path,
) -> None:
    path = tmp_path / "ordonez_a.csv"
    write_csv(ordonez, path)
    assert list(read_events(path)) == ordonez
    done = subprocess.run(
        [sys.executable, "-m", "gateway.replay", "events", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, "")
    replayed = [(x["type"], x["time"]) for x in map(json.loads, done.stdout.splitlines())]
    evaluated = [(a.type, format_local(a.time)) for a in evaluate(ordonez).false_alarms]
    assert replayed == evaluated


def test_collapse_cuts_only_where_the_resident_was_home_and_active(
    ordonez: list[SensorEvent],
) -> None:
    cuts = collapse_cuts(ordonez)
    assert cuts
    first_day = ordonez[0].time // 86400 * 86400
    for cut in cuts:
        assert cut >= first_day + 2 * 86400
        assert format_local(cut)[11:] in ("10:00:00", "15:00:00")
        recent = [e for e in ordonez if cut - 3600 < e.time <= cut]
        assert any(e.time > cut - 1800 for e in recent)
        assert not any(e.kind is SensorKind.EXIT_DOOR for e in recent)
    # 2011-12-10 13:04 the resident left: not a cut at 15:00 that day.
    assert at("2011-12-10 15:00:00") not in cuts


def test_evaluation_counts_every_cut_and_bounds_the_delays(
    ordonez: list[SensorEvent],
) -> None:
    result = evaluate(ordonez)
    assert isinstance(result, Evaluation)
    assert 14 < result.days < 15
    assert len(result.delays_s) == len(result.cuts)
    assert all(0 < d <= RUN_AFTER_CUT_S for d in result.delays_s)
    assert result.missed == sum(d == RUN_AFTER_CUT_S for d in result.delays_s)
    assert result.missed + sum(result.detected_by.values()) == len(result.cuts)
    # Nobody was in danger in these days: no night bed exit or wandering alarm is acceptable.
    assert not [a for a in result.false_alarms if a.type in ("night_bed_exit", "wandering")]


def test_main_prints_the_report_next_to_published_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--write-csv", str(tmp_path / "a.csv")]) == 0
    out = capsys.readouterr().out
    assert "published 0.09/day" in out
    assert "published 5 h 23 min" in out
    assert "goal 0.05/day" in out
    assert "goal 2 h 30 min" in out
    assert (tmp_path / "a.csv").read_text().startswith("time,device,kind,room,value\n")
    assert main(["--data-dir", str(tmp_path / "nowhere")]) == 1
