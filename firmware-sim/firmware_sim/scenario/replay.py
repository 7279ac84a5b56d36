"""Replaying a recorded home as live Zigbee sensors: a sensor-event log -> timed state changes.

The log is a neutral sensor-event CSV (``time,device,kind,room,value``, ../shared/data's
README) or, with ``format = "ordonez"``, an Ordonez ``*_Sensors.txt`` converted by the same
official conversion the detectors are evaluated on (:mod:`gateway.evaluate_ordonez`). Each CSV
sensor becomes one simulated device of the kind its ``kind`` column maps to
(:data:`~firmware_sim.zigbee_kinds.BY_NEUTRAL_KIND`: motion -> PIR ``occupancy``, door ->
contact, bed/seat -> pressure mat, appliance -> plug ``state``), named by the step's ``names``
table or ``prefix`` + the CSV name made safe for a device id; every sensor in the log is a
device of the home, even one that stays quiet in the window. Within the window
``[from, until)`` an event at CSV time ``t`` happens ``t - from`` simulated seconds after the
step starts; sensors active at ``from`` are reported active when the step starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from firmware_sim.scenario.format import DeviceSpec, ReplayStep, ScenarioError
from firmware_sim.zigbee_kinds import BY_NEUTRAL_KIND
from gateway.detect.home_events import EventFileError, SensorEvent, read_events
from gateway.evaluate_ordonez import OrdonezFormatError, parse_sensors


@dataclass(frozen=True)
class SensorChange:
    offset_s: float  # simulated seconds after the replay step starts
    device: str  # friendly name
    active: bool


@dataclass(frozen=True)
class Replay:
    devices: tuple[DeviceSpec, ...]  # one per CSV sensor seen, by friendly name
    initial: tuple[SensorChange, ...]  # sensors already active at ``from`` (offset 0)
    changes: tuple[SensorChange, ...]
    length_s: float


def _local_seconds(moment: datetime) -> float:
    """The detectors' convention: local wall-clock time read as if it were UTC."""
    return moment.replace(tzinfo=UTC).timestamp()


def device_name(csv_device: str, prefix: str) -> str:
    slug = re.sub(r"[^a-z0-9_.:-]+", "-", csv_device.lower()).strip("-")
    return f"{prefix}{slug}" or "sensor"


def _read(path: Path, fmt: str) -> list[SensorEvent]:
    try:
        if fmt == "ordonez":
            return parse_sensors(path.read_text(encoding="utf-8"))
        return list(read_events(path))
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"cannot read {path}: {err}") from err
    except (EventFileError, OrdonezFormatError) as err:
        raise ScenarioError(f"{path}: {err}") from err


def load_replay(step: ReplayStep, base: Path) -> Replay:
    """Read the step's log (``replay`` relative to ``base``) and map it to devices."""
    events = _read(base / step.replay, step.format)
    if not events:
        raise ScenarioError(f"{step.replay}: no events")
    start = _local_seconds(step.from_) if step.from_ else events[0].time
    end = _local_seconds(step.until) if step.until else events[-1].time + 1.0
    if end <= start:
        raise ScenarioError("'until' must be after 'from'")
    names: dict[str, str] = {}
    specs: dict[str, DeviceSpec] = {}
    active_at_start: dict[str, bool] = {}
    changes: list[SensorChange] = []
    for event in events:  # every sensor of the home becomes a device, even one quiet in the window
        name = names.get(event.device)
        if name is None:
            name = step.names.get(event.device) or device_name(event.device, step.prefix)
            names[event.device] = name
            kind = BY_NEUTRAL_KIND[event.kind.value].name
            specs[name] = DeviceSpec(name=name, kind=kind, room=event.room)
        if event.time < start:
            active_at_start[name] = bool(event.value)
        elif event.time < end:
            changes.append(SensorChange(event.time - start, name, bool(event.value)))
    unused = set(step.names) - set(names)
    if unused:
        raise ScenarioError(f"'names' lists sensors not in the log: {sorted(unused)}")
    initial = tuple(SensorChange(0.0, n, True) for n, on in active_at_start.items() if on)
    return Replay(tuple(specs.values()), initial, tuple(changes), end - start)
