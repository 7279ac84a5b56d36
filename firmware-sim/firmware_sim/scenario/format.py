"""The scenario file format (TOML, docs/scenarios.md): parsed, checked, and put on a time axis.

TOML because a scenario is written by hand: comments, native local times (``at = 07:10:00``)
and date-times, tables for devices and steps, and a parser in the standard library
(``tomllib``). Each step is checked against the model of its action (the one action key it
has: ``press``, ``set``, ``wait``, ``fault``, ``replay``), unknown keys are refused, and every
error names the step, so a typo never passes silently.

Times: ``[scenario] start`` is the local date-time of simulated second 0. A step starts
``at`` a time of day (the first such moment not before the previous step's start; a local
date-time is taken as it is), or ``after`` a duration counted from the end of the previous step
(default 0). Only ``wait`` and ``replay`` steps last; faults with ``for`` run in the background.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from firmware_sim.zigbee_kinds import ZIGBEE_KINDS, Json

SERIAL_KINDS = ("call_button", "fall_pendant")
DEFAULT_START = datetime(2024, 1, 1)  # a local, simulated time: no zone
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message names the file and the step."""


def parse_duration(value: object) -> float:
    """Seconds from a number or a string like ``90s``, ``5m``, ``1h30m``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '1h30m'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value.strip())) and value.strip():
        hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    else:
        raise ValueError(f"{value!r} is not a duration (e.g. 90, '90s', '5m', '1h30m')")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Meta(_Model):
    name: str
    description: str = ""
    start: datetime = DEFAULT_START
    speed: float = Field(default=1.0, gt=0)
    seed: int = 0


class DeviceSpec(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
    kind: str
    room: str = ""
    transport: Literal["serial", "zigbee2mqtt"] | None = None
    port: str | None = Field(default=None, pattern=r"^(pty:.+|tcp:[^:]+:\d+)$")
    battery: int | None = Field(default=None, ge=0, le=100)
    state: dict[str, Json] = Field(default_factory=dict)

    @property
    def resolved_transport(self) -> str:
        return self.transport or ("serial" if self.kind in SERIAL_KINDS else "zigbee2mqtt")


class _Step(_Model):
    at: time | datetime | None = None
    after: Duration | None = None
    note: str = ""


class PressStep(_Step):
    device: str
    press: Literal["emergency", "service", "family"]


class SetStep(_Step):
    device: str
    set: dict[str, Json] = Field(min_length=1)


class WaitStep(_Step):
    wait: Duration


FaultName = Literal[
    "unplug", "silence", "stuck_key", "phantom_press", "battery_drain", "line_noise", "garbage"
]


class FaultStep(_Step):
    device: str
    fault: FaultName
    for_: Duration | None = Field(default=None, alias="for")
    offline: bool = False  # silence: Zigbee2MQTT also marks the device offline
    count: int = Field(default=1, ge=1, le=10_000)  # stuck_key, phantom_press
    every: Duration = 1.0  # stuck_key, phantom_press
    key: Literal["emergency", "service", "family"] = "emergency"  # stuck_key
    to: int = Field(default=5, ge=0, le=100)  # battery_drain: final level
    over: Duration = 3600.0  # battery_drain
    steps: int = Field(default=5, ge=1, le=1000)  # battery_drain
    garbage: Probability = 0.0  # line_noise: per-frame probabilities
    drop: Probability = 0.0
    duplicate: Probability = 0.0
    bytes: int = Field(default=16, ge=1, le=4096)  # garbage


class ReplayStep(_Step):
    replay: str  # path, relative to the scenario file
    format: Literal["neutral", "ordonez"] = "neutral"
    from_: datetime | None = Field(default=None, alias="from")
    until: datetime | None = None
    names: dict[str, str] = Field(default_factory=dict)  # CSV device -> friendly name
    prefix: str = ""


Step = PressStep | SetStep | WaitStep | FaultStep | ReplayStep
_ACTIONS: dict[str, type[Step]] = {
    "press": PressStep,
    "set": SetStep,
    "wait": WaitStep,
    "fault": FaultStep,
    "replay": ReplayStep,
}


@dataclass(frozen=True)
class PlacedStep:
    """A step with its place on the time axis (simulated seconds from ``start``)."""

    number: int  # 1-based, as a person counts the [[step]] tables
    step: Step
    at_s: float

    @property
    def label(self) -> str:
        action = next(k for k in _ACTIONS if k in self.step.model_fields_set)
        return f"step {self.number} ({action})"


@dataclass(frozen=True)
class Document:
    """A scenario file as written: checked, not yet on the time axis."""

    path: Path
    meta: Meta
    devices: tuple[DeviceSpec, ...]
    steps: tuple[Step, ...]


def _errors(err: ValidationError) -> str:
    parts = []
    for problem in err.errors()[:3]:
        where = ".".join(str(p) for p in problem["loc"])
        parts.append(f"{where}: {problem['msg']}" if where else str(problem["msg"]))
    return "; ".join(parts)


def _parse_step(raw: object, number: int) -> Step:
    if not isinstance(raw, dict):
        raise ScenarioError(f"step {number}: must be a table")
    actions = [k for k in _ACTIONS if k in raw]
    if len(actions) != 1:
        found = ", ".join(actions) or "none"
        raise ScenarioError(
            f"step {number}: needs exactly one of {', '.join(_ACTIONS)} (found {found})"
        )
    try:
        step = _ACTIONS[actions[0]].model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(f"step {number} ({actions[0]}): {_errors(err)}") from err
    if step.at is not None and step.after is not None:
        raise ScenarioError(f"step {number} ({actions[0]}): give 'at' or 'after', not both")
    return step


def place(steps: list[Step], start: datetime, lasting: dict[int, float]) -> tuple[PlacedStep, ...]:
    """Put steps on the time axis (module docstring); ``lasting`` gives the length of the
    steps that last other than ``wait`` (replays), by step number. Raises for a step back in
    time."""
    placed: list[PlacedStep] = []
    last_start = last_end = 0.0
    for number, step in enumerate(steps, start=1):
        if isinstance(step.at, datetime):
            at_s = (step.at - start).total_seconds()
        elif isinstance(step.at, time):
            moment = datetime.combine((start + timedelta(seconds=last_start)).date(), step.at)
            while (moment - start).total_seconds() < last_start:
                moment += timedelta(days=1)
            at_s = (moment - start).total_seconds()
        else:
            at_s = last_end + (step.after or 0.0)
        if at_s < last_start:
            raise ScenarioError(f"step {number}: 'at' is before the previous step")
        placed.append(PlacedStep(number, step, at_s))
        length = step.wait if isinstance(step, WaitStep) else lasting.get(number, 0.0)
        last_start, last_end = at_s, max(last_end, at_s + length)
    return tuple(placed)


def parse(text: str, path: Path = Path("scenario.toml")) -> Document:
    """A checked document from TOML text; raises :class:`ScenarioError` naming the problem."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML: {err}") from err
    try:
        return _build(data, path)
    except ScenarioError as err:
        raise ScenarioError(f"{path}: {err}") from err


def _build(data: dict[str, Any], path: Path) -> Document:
    unknown = set(data) - {"scenario", "device", "step"}
    if unknown:
        raise ScenarioError(f"unknown top-level keys {sorted(unknown)}")
    try:
        meta = Meta.model_validate(data.get("scenario", {}))
    except ValidationError as err:
        raise ScenarioError(f"[scenario]: {_errors(err)}") from err
    devices = []
    for number, raw in enumerate(data.get("device", []), start=1):
        try:
            devices.append(DeviceSpec.model_validate(raw))
        except ValidationError as err:
            raise ScenarioError(f"device {number}: {_errors(err)}") from err
    steps = [_parse_step(raw, n) for n, raw in enumerate(data.get("step", []), start=1)]
    check_devices(devices)
    return Document(path, meta, tuple(devices), tuple(steps))


def check_devices(devices: list[DeviceSpec]) -> None:
    seen: set[str] = set()
    for spec in devices:
        if spec.name in seen:
            raise ScenarioError(f"device {spec.name!r} declared twice")
        seen.add(spec.name)
        serial = spec.resolved_transport == "serial"
        if serial and spec.kind not in SERIAL_KINDS:
            raise ScenarioError(f"device {spec.name!r}: {spec.kind} has no serial form")
        if not serial and spec.kind not in ZIGBEE_KINDS:
            known = ", ".join([*SERIAL_KINDS, *ZIGBEE_KINDS])
            raise ScenarioError(f"device {spec.name!r}: unknown kind {spec.kind!r}; known: {known}")
        if serial and spec.port is None:
            raise ScenarioError(f"device {spec.name!r}: a serial device needs port = 'pty:PATH'")
        if not serial and spec.port is not None:
            raise ScenarioError(f"device {spec.name!r}: only serial devices have a port")
        unknown = set(spec.state) - (set() if serial else ZIGBEE_KINDS[spec.kind].fields)
        if unknown:
            raise ScenarioError(
                f"device {spec.name!r}: {spec.kind} has no fields {sorted(unknown)}"
            )
