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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol


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


@dataclass(frozen=True, slots=True)
class HomeAlarm:
    """An alarm for the centre. ``time`` is when it is raised (for a pre-warning nobody
    cancelled: when its window closed), in the same local seconds as ``SensorEvent.time``."""

    type: str  # "inactivity", "night_bed_exit", "wandering", ...
    time: float
    detail: dict[str, str | float | int] = field(default_factory=dict)


class HomeDetector(Protocol):
    """A streaming detector over one home's sensor events.

    The clock moves only through the calls: ``feed`` first advances it to the event's time
    (raising whatever falls due up to then) and then takes the event; ``advance`` moves it
    with no event. Alarms must not depend on how often ``advance`` is called in between:
    feeding a log with or without extra ``advance`` calls gives the same alarms. The state is
    the detector's attributes, a plain dataclass that can be copied and persisted.
    """

    def feed(self, event: SensorEvent) -> list[HomeAlarm]: ...

    def advance(self, now: float) -> list[HomeAlarm]: ...

    def shift(self, by: float) -> None:
        """The gateway's wall clock stepped by ``by`` seconds (NTP, a set clock): move every
        time the state holds by as much, so that the silence or absence being timed keeps
        its real length. Times of day that are the home's own (the end of the night) stay."""


class ActivityDetector(HomeDetector, Protocol):
    """A detector of the resident's activity (inactivity, night bed exit, wandering), which
    an empty home silences (see :mod:`gateway.detect.away`)."""

    def home_empty(self, at: float) -> None:
        """The home is empty from ``at`` (an away period began): drop whatever deadline is
        running, and learn nothing from the silence that follows."""


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
