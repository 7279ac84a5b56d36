"""A runnable scenario: the document, its replays read, every device known, steps on the
time axis, and each step checked against the device it acts on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from firmware_sim.scenario.format import (
    DeviceSpec,
    Document,
    FaultStep,
    Meta,
    PlacedStep,
    PressStep,
    ReplayStep,
    ScenarioError,
    SetStep,
    Step,
    parse,
    place,
)
from firmware_sim.scenario.replay import Replay, load_replay
from firmware_sim.zigbee_kinds import ZIGBEE_KINDS

SERIAL_ONLY_FAULTS = frozenset({"unplug", "line_noise", "garbage"})


@dataclass(frozen=True)
class Scenario:
    path: Path
    meta: Meta
    devices: tuple[DeviceSpec, ...]
    steps: tuple[PlacedStep, ...]
    replays: dict[int, Replay]  # by step number

    @property
    def length_s(self) -> float:
        ends = [
            p.at_s + self.replays[p.number].length_s for p in self.steps if p.number in self.replays
        ]
        return max([p.at_s for p in self.steps] + ends, default=0.0)

    def device(self, name: str) -> DeviceSpec:
        return next(d for d in self.devices if d.name == name)


def load(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read: {err}") from err
    return resolve(parse(text, path))


def resolve(document: Document) -> Scenario:
    try:
        return _resolve(document)
    except ScenarioError as err:
        raise ScenarioError(f"{document.path}: {err}") from err


def _resolve(document: Document) -> Scenario:
    devices = {d.name: d for d in document.devices}
    replays: dict[int, Replay] = {}
    for number, step in enumerate(document.steps, start=1):
        if isinstance(step, ReplayStep):
            try:
                replay = load_replay(step, document.path.parent)
            except ScenarioError as err:
                raise ScenarioError(f"step {number} (replay): {err}") from err
            for spec in replay.devices:
                declared = devices.setdefault(spec.name, spec)
                if declared.kind != spec.kind:
                    raise ScenarioError(
                        f"step {number} (replay): {spec.name!r} is declared as {declared.kind}"
                        f" but the log makes it a {spec.kind}"
                    )
            replays[number] = replay
    lasting = {n: r.length_s for n, r in replays.items()}
    placed = place(list(document.steps), document.meta.start, lasting)
    for item in placed:
        _check_target(item.step, devices, item.number)
    return Scenario(document.path, document.meta, tuple(devices.values()), placed, replays)


def _check_target(step: Step, devices: dict[str, DeviceSpec], number: int) -> None:
    name = getattr(step, "device", None)
    if name is None:
        return
    spec = devices.get(name)
    if spec is None:
        raise ScenarioError(f"step {number}: unknown device {name!r}")
    serial = spec.resolved_transport == "serial"
    zigbee_kind = None if serial else ZIGBEE_KINDS[spec.kind]
    problem = ""
    if isinstance(step, PressStep) and not serial:
        if spec.kind != "sos_button" or step.press != "emergency":
            problem = f"a {spec.kind} has no {step.press} key"
    elif isinstance(step, SetStep):
        if zigbee_kind is None:
            problem = "only Zigbee devices have a state to set"
        elif unknown := set(step.set) - zigbee_kind.fields:
            problem = f"a {spec.kind} has no fields {sorted(unknown)}"
    elif isinstance(step, FaultStep):
        problem = _fault_problem(step, spec, serial)
    if problem:
        raise ScenarioError(f"step {number}: {name!r}: {problem}")


def _fault_problem(step: FaultStep, spec: DeviceSpec, serial: bool) -> str:
    if step.fault in SERIAL_ONLY_FAULTS and not serial:
        return f"{step.fault} needs a serial device"
    if step.fault == "phantom_press" and spec.kind != "sos_button":
        return "phantom presses are a Zigbee SOS button's fault"
    if step.fault == "stuck_key" and not (serial or spec.kind == "sos_button"):
        return f"a {spec.kind} has no key"
    if step.fault == "battery_drain" and not serial and ZIGBEE_KINDS[spec.kind].power == "mains":
        return f"a {spec.kind} is mains powered"
    if step.offline and (serial or step.fault != "silence"):
        return "offline applies to silencing a Zigbee device"
    return ""
