"""Home sensor events, as the activity detectors consume them.

One event is a sensor becoming active (``value`` 1: motion seen, door opened, bed or seat
occupied, appliance on) or inactive (``value`` 0). ``time`` is the home's local wall-clock
time in seconds since the epoch, read as if it were UTC: the detectors need the time of day
as the resident lives it (night is 22:00-06:00 local), and daylight-saving shifts are the
caller's concern. The neutral CSV of ``../shared/data/README.md`` maps one row to one event.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path


class SensorKind(StrEnum):
    MOTION = "motion"
    DOOR = "door"
    EXIT_DOOR = "exit_door"  # the home's front door: leaving, or wandering at night
    BED = "bed"
    SEAT = "seat"
    APPLIANCE = "appliance"


@dataclass(frozen=True, slots=True)
class SensorEvent:
    time: float  # local time as seconds since the epoch (see the module docstring)
    device: str
    kind: SensorKind
    room: str
    value: int  # 1 active, 0 inactive


TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
HEADER = ["time", "device", "kind", "room", "value"]


def parse_local(text: str) -> float:
    """``YYYY-MM-DD HH:MM:SS`` local time -> seconds, read as UTC (see the module docstring)."""
    return datetime.strptime(text.strip(), TIME_FORMAT).replace(tzinfo=UTC).timestamp()


def format_local(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime(TIME_FORMAT)


class EventFileError(ValueError):
    """A sensor-event CSV that cannot be used; the message names the line."""


def read_events(path: Path) -> Iterator[SensorEvent]:
    """Events of a neutral sensor-event CSV, in file order; must be sorted by time."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None or [h.strip() for h in header] != HEADER:
            raise EventFileError(f"line 1: header must be {','.join(HEADER)}")
        last = float("-inf")
        for number, row in enumerate(rows, start=2):
            if not row or not "".join(row).strip():
                continue
            try:
                time_text, device, kind, room, value = (cell.strip() for cell in row)
                event = SensorEvent(
                    parse_local(time_text), device, SensorKind(kind), room, int(value)
                )
            except ValueError as err:
                raise EventFileError(f"line {number}: {err}") from err
            if event.value not in (0, 1):
                raise EventFileError(f"line {number}: value must be 0 or 1")
            if event.time < last:
                raise EventFileError(f"line {number}: not sorted by time")
            last = event.time
            yield event
