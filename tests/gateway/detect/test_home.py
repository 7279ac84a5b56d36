"""HomeMonitor: the default detectors together; ``python -m gateway.replay events`` over it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gateway.detect.home import HomeMonitor, default_detectors
from gateway.detect.home_events import HomeAlarm, SensorEvent, SensorKind
from gateway.detect.home_events import parse_local as at
from gateway.detect.inactivity import InactivityDetector
from gateway.detect.night import NightBedExitDetector, NightConfig, WanderingDetector

REPO = Path(__file__).resolve().parents[3]


def test_default_monitor_runs_inactivity_bed_exit_and_wandering() -> None:
    kinds = [type(d) for d in HomeMonitor().detectors]
    assert kinds == [InactivityDetector, NightBedExitDetector, WanderingDetector]
    night = default_detectors(NightConfig(dementia=True))
    assert all(d.config.dementia for d in night if isinstance(d, NightBedExitDetector))


class _Fixed:
    """A detector that raises given alarms on ``advance``."""

    def __init__(self, alarms: list[HomeAlarm]) -> None:
        self.alarms = alarms

    def feed(self, event: SensorEvent) -> list[HomeAlarm]:
        return self.advance(event.time)

    def advance(self, now: float) -> list[HomeAlarm]:
        due = [a for a in self.alarms if a.time <= now]
        self.alarms = [a for a in self.alarms if a.time > now]
        return due

    def shift(self, by: float) -> None:
        self.alarms = [HomeAlarm(a.type, a.time + by) for a in self.alarms]

    def home_empty(self, at: float) -> None:
        self.alarms = [a for a in self.alarms if a.time <= at]


def test_monitor_merges_alarms_in_time_order() -> None:
    a, b, c = HomeAlarm("x", 30.0), HomeAlarm("y", 10.0), HomeAlarm("z", 20.0)
    monitor = HomeMonitor([_Fixed([a]), _Fixed([b, c])])
    assert monitor.advance(100.0) == [b, c, a]


def test_monitor_reports_wandering_once_for_a_night_exit() -> None:
    events = [
        SensorEvent(at("2024-03-01 23:00:00"), "Bed", SensorKind.BED, "Bedroom", 1),
        SensorEvent(at("2024-03-02 02:00:00"), "Bed", SensorKind.BED, "Bedroom", 0),
        SensorEvent(at("2024-03-02 02:05:00"), "Door", SensorKind.EXIT_DOOR, "Hall", 1),
    ]
    monitor = HomeMonitor()
    alarms = [a for e in events for a in monitor.feed(e)]
    alarms += monitor.advance(at("2024-03-02 03:00:00"))
    assert [(a.type, a.time) for a in alarms] == [("wandering", at("2024-03-02 02:20:00"))]


# --- the replay CLI, as a subprocess -----------------------------------------------------------

HEADER = "time,device,kind,room,value\n"
NIGHT_CSV = HEADER + (
    "2024-03-01 23:00:00,Bed,bed,Bedroom,1\n"
    "2024-03-02 02:00:00,Bed,bed,Bedroom,0\n"
    "2024-03-02 02:02:00,Toilet,appliance,Bathroom,1\n"
    "2024-03-02 02:05:00,Bed,bed,Bedroom,1\n"
    "2024-03-02 03:00:00,Bed,bed,Bedroom,0\n"
    "2024-03-02 03:50:00,Bed,bed,Bedroom,1\n"
    "2024-03-02 04:00:00,Maindoor,exit_door,Entrance,1\n"
    "2024-03-02 04:00:05,Maindoor,exit_door,Entrance,0\n"
)


def replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.replay", "events", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_replay_events_prints_one_json_line_per_alarm(tmp_path: Path) -> None:
    """The toilet trip raises nothing, 50 min out does; the door at 04:00 (the resident in
    bed) is somebody else's."""
    path = tmp_path / "night.csv"
    path.write_text(NIGHT_CSV)
    done = replay(str(path))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        '{"type": "night_bed_exit", "time": "2024-03-02 03:45:00", "bed_exit": '
        '"2024-03-02 03:00:00", "out_of_bed_min": 45.0, "last_activity": "2024-03-02 03:00:00"}'
    ]


def test_replay_events_until_lets_a_time_based_alarm_fire(tmp_path: Path) -> None:
    path = tmp_path / "door.csv"
    path.write_text(HEADER + "2024-03-02 03:00:00,Maindoor,exit_door,Entrance,1\n")
    assert replay(str(path)).stdout == ""
    done = replay(str(path), "--until", "2024-03-02 03:30:00")
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        '{"type": "wandering", "time": "2024-03-02 03:15:00", '
        '"door_opened": "2024-03-02 03:00:00", "device": "Maindoor"}'
    ]


def test_replay_events_broken_file_goes_to_stderr_with_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(NIGHT_CSV + "2024-03-02 05:00:00,Lamp,lamp,Living,1\n")
    done = replay(str(path))
    assert done.returncode == 1
    assert done.stdout == ""
    assert str(path) in done.stderr
    assert "line 10" in done.stderr
    missing = replay(str(tmp_path / "missing.csv"))
    assert (missing.returncode, missing.stdout) == (1, "")
    assert "missing.csv" in missing.stderr
    bad_until = replay(str(path.with_name("x.csv")), "--until", "tomorrow")
    assert bad_until.returncode == 1
    assert "--until" in bad_until.stderr
