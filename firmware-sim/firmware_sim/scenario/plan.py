"""A scenario's steps as timed actions on the devices of a run.

Steps become actions by a table keyed by the step's type, and faults by a table keyed by
fault name (:data:`FAULTS`), so adding a fault is adding a planner, not an ``elif``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from firmware_sim.faults import FaultLog, FaultyPort, LineFaults
from firmware_sim.faults import devices as device_faults
from firmware_sim.faults.line import CLEAN
from firmware_sim.scenario.devices import SimulatedDevice
from firmware_sim.scenario.format import FaultStep, PlacedStep, PressStep, SetStep, WaitStep
from firmware_sim.scenario.load import Scenario
from firmware_sim.scenario.replay import Replay, SensorChange
from firmware_sim.timeline import Timeline

FaultPlanner = Callable[[Timeline, FaultStep, float, SimulatedDevice, FaultLog], None]


def _line(device: SimulatedDevice) -> FaultyPort:
    if device.port is None:
        raise TypeError(f"{device.spec.name} has no serial line")
    return device.port


def _unplug(t: Timeline, step: FaultStep, at: float, dev: SimulatedDevice, log: FaultLog) -> None:
    device_faults.unplug(t, _line(dev), at_s=at, for_s=step.for_)


def _silence(t: Timeline, step: FaultStep, at: float, dev: SimulatedDevice, log: FaultLog) -> None:
    def set_silent(silent: bool) -> None:
        dev.set_silent(silent, offline=step.offline)

    device_faults.silence(
        t, log, dev.spec.name, set_silent, at_s=at, for_s=step.for_, offline=step.offline
    )


def _presses(fault: str, key: Callable[[FaultStep], str]) -> FaultPlanner:
    def plan(t: Timeline, step: FaultStep, at: float, dev: SimulatedDevice, log: FaultLog) -> None:
        device_faults.repeat_presses(
            t,
            log,
            dev.spec.name,
            lambda: dev.press(key(step)),
            fault=fault,
            at_s=at,
            count=step.count,
            every_s=step.every,
        )

    return plan


def _drain(t: Timeline, step: FaultStep, at: float, dev: SimulatedDevice, log: FaultLog) -> None:
    device_faults.battery_drain(
        t,
        log,
        dev.spec.name,
        dev.set_battery,
        at_s=at,
        start_percent=max(dev.battery(), step.to),
        to_percent=step.to,
        over_s=step.over,
        steps=step.steps,
    )


def _noise(t: Timeline, step: FaultStep, at: float, dev: SimulatedDevice, log: FaultLog) -> None:
    line = _line(dev)
    faults = LineFaults(garbage=step.garbage, drop=step.drop, duplicate=step.duplicate)

    def switch(new: LineFaults) -> Callable[[], None]:
        def apply() -> None:
            line.faults = new
            log.record(
                dev.spec.name, "line_noise", garbage=new.garbage, drop=new.drop, dup=new.duplicate
            )

        return apply

    t.add(at, f"line noise on {dev.spec.name}", switch(faults))
    if step.for_ is not None:
        t.add(at + step.for_, f"clean line on {dev.spec.name}", switch(CLEAN))


def _garbage(t: Timeline, step: FaultStep, at: float, dev: SimulatedDevice, log: FaultLog) -> None:
    line = _line(dev)
    t.add(
        at,
        f"{step.bytes} garbage bytes on {dev.spec.name}",
        lambda: line.inject_garbage(step.bytes),
    )


FAULTS: Mapping[str, FaultPlanner] = {
    "unplug": _unplug,
    "silence": _silence,
    "stuck_key": _presses(device_faults.STUCK_PRESS, lambda step: step.key),
    "phantom_press": _presses(device_faults.PHANTOM_PRESS, lambda _step: "emergency"),
    "battery_drain": _drain,
    "line_noise": _noise,
    "garbage": _garbage,
}


def _activate(devices: Mapping[str, SimulatedDevice], change: SensorChange) -> Callable[[], None]:
    device = devices[change.device]
    return lambda: device.set_active(change.active)


def _replay(t: Timeline, at: float, replay: Replay, devices: Mapping[str, SimulatedDevice]) -> None:
    for change in (*replay.initial, *replay.changes):
        state = "active" if change.active else "inactive"
        t.add(at + change.offset_s, f"{change.device} {state}", _activate(devices, change))
    t.add(at + replay.length_s, "replay ends", lambda: None)


def _step(
    t: Timeline, placed: PlacedStep, devices: Mapping[str, SimulatedDevice], log: FaultLog
) -> None:
    step, at = placed.step, placed.at_s
    target = devices.get(getattr(step, "device", ""))
    if isinstance(step, PressStep) and target is not None:
        t.add(at, f"press {step.press} on {step.device}", lambda: target.press(step.press))
    elif isinstance(step, SetStep) and target is not None:
        t.add(at, f"{step.device} {step.set}", lambda: target.update(step.set))
    elif isinstance(step, WaitStep):
        t.add(at + step.wait, f"waited {step.wait:g} s", lambda: None)
    elif isinstance(step, FaultStep) and target is not None:
        FAULTS[step.fault](t, step, at, target, log)


def plan(scenario: Scenario, devices: Mapping[str, SimulatedDevice], log: FaultLog) -> Timeline:
    """Every step of ``scenario`` as actions on ``devices`` (by name)."""
    timeline = Timeline()
    for placed in scenario.steps:
        replay = scenario.replays.get(placed.number)
        if replay is not None:
            _replay(timeline, placed.at_s, replay, devices)
        else:
            _step(timeline, placed, devices, log)
    return timeline
