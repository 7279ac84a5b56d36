"""The home detectors on Ordonez house A (``python -m gateway.evaluate_ordonez``).

The log (``../shared/data/ordonez_a/OrdonezA_Sensors.txt``: two header lines, CRLF, runs of
tabs between ``start end Location Type Place``) becomes neutral sensor events: each interval
is an activation (1) at its start and a deactivation (0) at its end; sorted by time with
deactivations first at equal times (a sensor that ends one interval as the next begins is off
before it is on again). ``--write-csv PATH`` writes them in the neutral CSV, so that
``python -m gateway.replay events PATH`` replays exactly what is evaluated here.

Nobody fell or fell ill during these 14 days, so every alarm of the official
:class:`~gateway.detect.home.HomeMonitor` over the whole log is a false alarm (per day, by
type). Collapses are injected: the log is cut at 10:00 and at 15:00 of every day from the
third (the first two leave a new gateway time to learn), wherever the resident was at home
and active (an event in the 30 min before, no exit-door event in the 60 min before); nothing
happens after the cut and the clock runs to cut + 12 h. The delay is the first alarm after the
cut (12 h, a miss, if none). The monitor run up to a cut is the full-log run (same events,
same clock), so each cut continues a copy of it.
"""

from __future__ import annotations

import argparse
import copy
import csv
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.detect.home import HomeMonitor
from gateway.detect.home_events import (
    HEADER,
    HomeAlarm,
    SensorEvent,
    SensorKind,
    format_local,
    parse_local,
)

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data" / "ordonez_a"
SENSORS_FILE = "OrdonezA_Sensors.txt"
HOUR_S = 3600.0
DAY_S = 86400.0
CUT_HOURS = (10, 15)
FIRST_CUT_DAY = 3  # 1-based day of the log
ACTIVE_BEFORE_S = 30 * 60.0
NO_EXIT_BEFORE_S = 60 * 60.0
RUN_AFTER_CUT_S = 12 * HOUR_S
TYPE_KINDS = {  # Ordonez sensor Type -> neutral kind; Maindoor is the front door
    "PIR": SensorKind.MOTION,
    "Magnetic": SensorKind.DOOR,
    "Pressure": SensorKind.SEAT,  # the bed mat is the exception below
    "Electric": SensorKind.APPLIANCE,
    "Flush": SensorKind.APPLIANCE,
}
LOCATION_KINDS = {"Maindoor": SensorKind.EXIT_DOOR, "Bed": SensorKind.BED}
PUBLISHED = {"false_alarms_per_day": 0.09, "median_delay_h": 5 + 23 / 60}  # Wilhelm and Wahl
ALARM_TYPES = ("inactivity", "night_bed_exit", "wandering")
GOALS = {"false_alarms_per_day": 0.05, "median_delay_h": 2.5}


class OrdonezFormatError(ValueError):
    """The Ordonez sensor log cannot be read; the message names the line."""


def parse_sensors(text: str) -> list[SensorEvent]:
    """Neutral events of an Ordonez sensor log, sorted (module docstring)."""
    events: list[tuple[float, int, int, SensorEvent]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if number <= 2 or not line.strip():
            continue  # the header and its underline
        cells = [cell.strip() for cell in line.split("\t") if cell.strip()]
        if len(cells) != 5:
            raise OrdonezFormatError(f"line {number}: expected 5 columns, got {len(cells)}")
        start_text, end_text, location, sensor_type, place = cells
        kind = LOCATION_KINDS.get(location, TYPE_KINDS.get(sensor_type))
        if kind is None:
            raise OrdonezFormatError(f"line {number}: unknown sensor type {sensor_type!r}")
        try:
            start, end = parse_local(start_text), parse_local(end_text)
        except ValueError as err:
            raise OrdonezFormatError(f"line {number}: {err}") from err
        if end < start:
            raise OrdonezFormatError(f"line {number}: ends before it starts")
        for time, value in ((start, 1), (end, 0)):
            event = SensorEvent(time, location, kind, place, value)
            events.append((time, value, len(events), event))
    events.sort(key=lambda item: item[:3])
    return [item[3] for item in events]


def load_events(data_dir: Path = DATA_DIR) -> list[SensorEvent]:
    return parse_sensors((data_dir / SENSORS_FILE).read_text(encoding="utf-8"))


def write_csv(events: Sequence[SensorEvent], path: Path) -> None:
    """The events as a neutral sensor-event CSV."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for e in events:
            writer.writerow([format_local(e.time), e.device, e.kind.value, e.room, e.value])


def collapse_cuts(events: Sequence[SensorEvent]) -> list[float]:
    """Cut times where the resident was at home and active (module docstring)."""
    if not events:
        return []
    first_day = events[0].time // DAY_S * DAY_S
    cuts: list[float] = []
    day = first_day + (FIRST_CUT_DAY - 1) * DAY_S
    while day <= events[-1].time:
        for hour in CUT_HOURS:
            cut = day + hour * HOUR_S
            recent = [e for e in events if cut - NO_EXIT_BEFORE_S < e.time <= cut]
            active = any(e.time > cut - ACTIVE_BEFORE_S for e in recent)
            left = any(e.kind is SensorKind.EXIT_DOOR for e in recent)
            if active and not left and cut <= events[-1].time:
                cuts.append(cut)
        day += DAY_S
    return cuts


@dataclass(frozen=True, slots=True)
class Evaluation:
    days: float
    false_alarms: list[HomeAlarm]
    cuts: list[float]
    delays_s: list[float]  # per cut; RUN_AFTER_CUT_S when missed
    missed: int
    detected_by: Counter[str]

    @property
    def false_alarms_per_day(self) -> float:
        return len(self.false_alarms) / self.days

    @property
    def median_delay_s(self) -> float:
        return statistics.median(self.delays_s) if self.delays_s else float("nan")


def evaluate(events: Sequence[SensorEvent]) -> Evaluation:
    """False alarms over the whole log and the injected collapses, with the official monitor."""
    cuts = collapse_cuts(events)
    monitor = HomeMonitor()
    false_alarms: list[HomeAlarm] = []
    delays: list[float] = []
    detected_by: Counter[str] = Counter()
    pending = iter(cuts)
    cut = next(pending, None)
    for event in events:
        while cut is not None and event.time > cut:
            delay, kind = _after_cut(monitor, cut, false_alarms)
            delays.append(delay)
            detected_by[kind] += 1
            cut = next(pending, None)
        false_alarms.extend(monitor.feed(event))
    while cut is not None:  # a cut at the very last event's time
        delay, kind = _after_cut(monitor, cut, false_alarms)
        delays.append(delay)
        detected_by[kind] += 1
        cut = next(pending, None)
    false_alarms.extend(monitor.advance(events[-1].time) if events else [])
    days = (events[-1].time - events[0].time) / DAY_S if events else 0.0
    missed = detected_by.pop("missed", 0)
    return Evaluation(days, false_alarms, cuts, delays, missed, detected_by)


def _after_cut(
    monitor: HomeMonitor, cut: float, false_alarms: list[HomeAlarm]
) -> tuple[float, str]:
    """The delay of the first alarm after a collapse at ``cut``; the monitor runs on unchanged."""
    false_alarms.extend(monitor.advance(cut))
    collapsed = copy.deepcopy(monitor)
    for alarm in collapsed.advance(cut + RUN_AFTER_CUT_S):
        if alarm.time > cut:
            return alarm.time - cut, alarm.type
    return RUN_AFTER_CUT_S, "missed"


def _hm(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def report(result: Evaluation) -> str:
    by_type = Counter(alarm.type for alarm in result.false_alarms)
    lines = [
        f"Ordonez house A: {result.days:.1f} days, official HomeMonitor, default profile",
        f"false alarms: {len(result.false_alarms)} = {result.false_alarms_per_day:.3f}/day"
        f"  (published {PUBLISHED['false_alarms_per_day']}/day,"
        f" goal {GOALS['false_alarms_per_day']}/day)",
    ]
    for kind in sorted(set(ALARM_TYPES) | set(by_type)):
        count = by_type[kind]
        lines.append(f"  {kind:15s} {count:3d} = {count / result.days:.3f}/day")
    for alarm in result.false_alarms:
        lines.append(f"    {format_local(alarm.time)} {alarm.type} {alarm.detail}")
    n = len(result.cuts)
    lines += [
        f"injected collapses: {n} cuts at {'/'.join(f'{h}:00' for h in CUT_HOURS)}"
        f" from day {FIRST_CUT_DAY}, run to cut + {RUN_AFTER_CUT_S / HOUR_S:.0f} h",
        f"  median delay {_hm(result.median_delay_s) if n else '-'}"
        f"  (published {_hm(PUBLISHED['median_delay_h'] * HOUR_S)},"
        f" goal {_hm(GOALS['median_delay_h'] * HOUR_S)})",
        f"  missed (no alarm within 12 h): {result.missed} of {n}",
        f"  first alarm by type: {dict(result.detected_by)}",
    ]
    for cut, delay in zip(result.cuts, result.delays_s, strict=True):
        lines.append(f"    {format_local(cut)}  {_hm(delay)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.evaluate_ordonez", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--write-csv", type=Path, metavar="PATH", help="also write neutral CSV")
    args = parser.parse_args(argv)
    try:
        events = load_events(args.data_dir)
    except (OSError, OrdonezFormatError) as err:
        print(f"evaluate_ordonez: {err}", file=sys.stderr)
        return 1
    if args.write_csv is not None:
        write_csv(events, args.write_csv)
    print(report(evaluate(events)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
