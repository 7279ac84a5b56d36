"""Replay recordings through the gateway's detectors: ``python -m gateway.replay accel FILE...``,
``python -m gateway.replay events FILE.csv [--until "YYYY-MM-DD HH:MM:SS"]``.

``accel`` reads accelerometer CSVs in the neutral format (header ``t,ax,ay,az``; ``t`` in
seconds, increasing, spacing may be irregular; acceleration in g along the device axes). Each
file is a separate wearer with a fresh :class:`~gateway.detect.resample.WearerStream` and the
default :class:`~gateway.detect.fall.FallConfig`: the detector the gateway runs. Every fall is
one JSON object on its own stdout line::

    {"file": "<path as given>", "type": "fall", "t_impact": 7.2, "t_detect": 9.7}

``t_detect`` is the time of the last sample consumed when deciding. The end of the file ends
the wearer's stream: a soft fall still waiting for its confirmation (``confirm_s`` after the
impact) is decided on the file's last sample, whose time is then its ``t_detect``. Nothing
else goes to stdout. A file that cannot be read, lacks the header, holds a non-numeric value
or goes back in time gets a one-line message on stderr naming the file (and the line), and the
next file is replayed; the exit code is then 1. Rows with ``nan`` or ``inf`` values are
dropped and a repeated timestamp keeps its first row, as the gateway does with live samples.

``events`` reads one home's sensor-event CSV in the neutral format (header
``time,device,kind,room,value``, local times, sorted) into a fresh
:class:`~gateway.detect.home.HomeMonitor` with the default detectors and resident profile
(inactivity, night bed exit, wandering), the monitor the gateway runs for a new home. After the
last event the clock moves on to ``--until`` (default: the last event's time; an earlier
``--until`` changes nothing, the clock never goes back). Every alarm that would reach the
centre is one JSON object on its own stdout line, in time order::

    {"type": "night_bed_exit", "time": "2024-03-02 02:45:00", "bed_exit": "...", ...}

The whole file is read before anything is replayed, so a broken file prints no alarms: one
line on stderr naming the file and the line, exit code 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gateway.detect.home import HomeMonitor
from gateway.detect.home_events import (
    EventFileError,
    HomeAlarm,
    format_local,
    parse_local,
    read_events,
)
from gateway.detect.resample import TimeOrderError, WearerStream

ACCEL_HEADER = ("t", "ax", "ay", "az")


class RecordingError(Exception):
    """A recording cannot be replayed; the message names the file and, if known, the line."""


def read_accel_csv(path: str) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Rows ``(t s, ax g, ay g, az g)`` (n, 4) of a neutral CSV and their 1-based line numbers.

    Blank lines are skipped. Raises :class:`RecordingError` for an unreadable file, a missing
    or wrong header, a row without exactly four fields or a field that is not a number.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise RecordingError(f"{path}: cannot read: {err}") from err
    lines = text.splitlines()
    header = tuple(f.strip() for f in lines[0].split(",")) if lines else ()
    if header != ACCEL_HEADER:
        raise RecordingError(f"{path}: line 1: expected header 't,ax,ay,az', got {header!r}")
    rows: list[list[float]] = []
    numbers: list[int] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != 4:
            raise RecordingError(f"{path}: line {number}: expected 4 fields, got {len(fields)}")
        try:
            rows.append([float(f) for f in fields])
        except ValueError as err:
            raise RecordingError(f"{path}: line {number}: not a number: {line.strip()!r}") from err
        numbers.append(number)
    return np.array(rows, dtype=np.float64).reshape(-1, 4), np.array(numbers, dtype=np.int64)


def replay_accel(path: str) -> list[dict[str, object]]:
    """The fall detections of one recording, as the JSON objects ``accel`` prints."""
    rows, numbers = read_accel_csv(path)
    stream = WearerStream()
    try:
        events = stream.feed(rows[:, 0], rows[:, 1:])
    except TimeOrderError as err:
        line = numbers[err.index]
        message = f"time goes backwards: {err.t!r} s after {err.previous!r} s"
        raise RecordingError(f"{path}: line {line}: {message}") from err
    events += stream.finish()  # the file ends: a fall still held is decided on its last sample
    return [
        {"file": path, "type": "fall", "t_impact": e.t_impact, "t_detect": e.t_detect}
        for e in events
    ]


def _accel(files: Sequence[str]) -> int:
    failed = False
    for path in files:
        try:
            detections = replay_accel(path)
        except RecordingError as err:
            print(f"replay: {err}", file=sys.stderr)
            failed = True
            continue
        for detection in detections:
            print(json.dumps(detection))
    sys.stdout.flush()
    return 1 if failed else 0


def replay_events(path: str, until: float | None = None) -> list[HomeAlarm]:
    """The alarms a fresh :class:`HomeMonitor` raises over one sensor-event CSV."""
    try:
        events = list(read_events(Path(path)))
    except EventFileError as err:
        raise RecordingError(f"{path}: {err}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise RecordingError(f"{path}: cannot read: {err}") from err
    monitor = HomeMonitor()
    alarms: list[HomeAlarm] = []
    for event in events:
        alarms.extend(monitor.feed(event))
    end = events[-1].time if events else None
    if until is not None:
        end = until if end is None else max(end, until)
    if end is not None:
        alarms.extend(monitor.advance(end))
    return alarms


def alarm_json(alarm: HomeAlarm) -> dict[str, object]:
    """An alarm as ``events`` prints it: type and time first, then its detail."""
    line: dict[str, object] = {"type": alarm.type, "time": format_local(alarm.time)}
    line.update((k, v) for k, v in alarm.detail.items() if k not in line)
    return line


def _events(path: str, until_text: str | None) -> int:
    try:
        until = None if until_text is None else parse_local(until_text)
    except ValueError:
        print(f"replay: --until {until_text!r}: expected YYYY-MM-DD HH:MM:SS", file=sys.stderr)
        return 1
    try:
        alarms = replay_events(path, until)
    except RecordingError as err:
        print(f"replay: {err}", file=sys.stderr)
        return 1
    for alarm in alarms:
        print(json.dumps(alarm_json(alarm)))
    sys.stdout.flush()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.replay",
        description="Replay recordings through the gateway's detectors; detections as JSON lines.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    accel = commands.add_parser(
        "accel", help="accelerometer CSVs (t,ax,ay,az), each a separate wearer: falls"
    )
    accel.add_argument("files", nargs="+", metavar="FILE.csv")
    accel.set_defaults(run=_accel)
    events = commands.add_parser(
        "events", help="one home's sensor-event CSV (time,device,kind,room,value): home alarms"
    )
    events.add_argument("file", metavar="FILE.csv")
    events.add_argument(
        "--until",
        metavar='"YYYY-MM-DD HH:MM:SS"',
        help="move the clock on to this local time after the last event",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "events":
        return _events(args.file, args.until)
    run: Callable[[Sequence[str]], int] = args.run
    return run(args.files)


if __name__ == "__main__":
    sys.exit(main())
