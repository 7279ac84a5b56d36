"""Replaying a sensor-event log as live Zigbee sensors: what the gateway decodes from the
published payloads is the log itself, at the log's times relative to the window."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from firmware_sim.faults import FaultLog
from firmware_sim.scenario import RunOptions, ScenarioError, load, run_scenario
from firmware_sim.zigbee_record import RecordedMessage, RecordingNetwork

from edge.events import DeviceRef, SensorChanged
from edge.zigbee2mqtt.converters import CONVERTERS

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
SCENARIOS = Path(__file__).resolve().parents[2] / "firmware-sim" / "scenarios"

CONVERTED = {
    "bed_sensor": "bed",
    "motion_sensor": "motion",
    "exit_door_contact": "exit_door",
    "smart_plug": "appliance",
    "seat_sensor": "seat",
}
LOG = """time,device,kind,room,value
2024-05-01 05:00:00,Bed,bed,bedroom,1
2024-05-01 07:00:00,Bed,bed,bedroom,0
2024-05-01 07:00:30,Hall PIR,motion,hall,1
2024-05-01 07:01:00,Front door,exit_door,hall,1
2024-05-01 07:01:20,Front door,exit_door,hall,0
2024-05-01 07:02:00,Hall PIR,motion,hall,0
2024-05-01 07:05:00,Kettle,appliance,kitchen,1
2024-05-01 07:09:00,Kettle,appliance,kitchen,0
2024-05-01 07:30:00,Chair,seat,living,1
2024-05-01 09:00:00,Chair,seat,living,0
"""


def scenario_file(tmp_path: Path, window: str = "") -> Path:
    (tmp_path / "day.csv").write_text(LOG)
    path = tmp_path / "replay.toml"
    path.write_text(
        f"""
[scenario]
name = "replay"
start = 2024-05-01T06:00:00

[[step]]
after = "10m"
replay = "day.csv"
{window}
names = {{ "Front door" = "front-door" }}
prefix = "home-"
"""
    )
    return path


def decoded(messages: list[RecordedMessage], kinds: dict[str, str]) -> list[tuple[str, str, int]]:
    """What the gateway's converters make of the state messages: (device, kind, value)."""
    out = []
    for message in messages:
        name = message.topic.removeprefix("zigbee2mqtt/")
        payload = message.json()
        if name.endswith("/availability") or not isinstance(payload, dict):
            continue
        ref = DeviceRef(name, kinds[name], "zigbee2mqtt")
        for event in CONVERTERS[kinds[name]](ref, payload, 0.0):
            if isinstance(event, SensorChanged):
                out.append((name, event.kind, event.value))
    return out


def test_log_maps_to_devices_of_the_right_kinds(tmp_path: Path) -> None:
    window = "from = 2024-05-01T06:30:00\nuntil = 2024-05-01T08:00:00"
    scenario = load(scenario_file(tmp_path, window))

    assert {d.name: (d.kind, d.room) for d in scenario.devices} == {
        "home-bed": ("bed_sensor", "bedroom"),
        "home-hall-pir": ("motion_sensor", "hall"),
        "front-door": ("exit_door_contact", "hall"),
        "home-kettle": ("smart_plug", "kitchen"),
        "home-chair": ("seat_sensor", "living"),
    }
    [step] = scenario.steps
    replay = scenario.replays[step.number]
    assert step.at_s == 600
    assert replay.length_s == 90 * 60
    assert [(c.device, c.active) for c in replay.initial] == [("home-bed", True)]
    assert [c.offset_s for c in replay.changes] == [
        1800,
        1830,
        1860,
        1880,
        1920,
        2100,
        2340,
        3600,
    ]  # 09:00 is outside the window


def test_replayed_payloads_decode_back_to_the_log(tmp_path: Path) -> None:
    window = "from = 2024-05-01T06:30:00\nuntil = 2024-05-01T08:00:00"
    scenario = load(scenario_file(tmp_path, window))
    network = RecordingNetwork()
    times: list[float] = []
    options = RunOptions(speed=math.inf, on_action=lambda a: times.append(a.at_s))

    result = run_scenario(scenario, network, options, FaultLog())

    kinds = {d.name: d.kind for d in scenario.devices}
    # Changes only, as the gateway keeps them (check-ins repeat the same state).
    last: dict[str, int] = {}
    changes = []
    for name, kind, value in decoded(network.messages, kinds):
        if last.get(name) != value:
            changes.append((name, kind, value))
            last[name] = value
    assert changes == [
        *((name, CONVERTED[kind], 0) for name, kind in kinds.items()),  # announced: all idle
        ("home-bed", "bed", 1),  # in bed when the window opens
        ("home-bed", "bed", 0),
        ("home-hall-pir", "motion", 1),
        ("front-door", "exit_door", 1),
        ("front-door", "exit_door", 0),
        ("home-hall-pir", "motion", 0),
        ("home-kettle", "appliance", 1),
        ("home-kettle", "appliance", 0),
        ("home-chair", "seat", 1),
    ]
    assert result.actions == len(times) == 1 + 8 + 1  # initial, changes, end of replay
    assert times[1:-1] == [600 + o for o in (1800, 1830, 1860, 1880, 1920, 2100, 2340, 3600)]


def test_a_name_for_a_sensor_not_in_the_log_is_refused(tmp_path: Path) -> None:
    path = scenario_file(tmp_path)
    path.write_text(path.read_text().replace('"Front door"', '"Back door"'))
    with pytest.raises(ScenarioError, match=r"step 1 \(replay\): 'names' lists sensors not in"):
        load(path)


def test_a_declared_device_must_match_the_kind_the_log_gives_it(tmp_path: Path) -> None:
    path = scenario_file(tmp_path)
    text = path.read_text() + '\n[[device]]\nname = "front-door"\nkind = "door_contact"\n'
    path.write_text(text)
    with pytest.raises(ScenarioError, match="declared as door_contact but the log makes it a exit"):
        load(path)


def test_shipped_morning_scenario_opens_the_door_at_night_and_reports_a_maybe_fall() -> None:
    scenario = load(SCENARIOS / "normal-morning.toml")
    network = RecordingNetwork()
    run_scenario(scenario, network, RunOptions(speed=math.inf), FaultLog())

    kinds = {d.name: d.kind for d in scenario.devices}
    changes = decoded(network.messages, kinds)
    assert ("front-door", "exit_door", 1) in changes
    radar = [s["fall_down_status"] for s in network.states("bathroom-radar")]
    assert "maybe_fall" in radar
    assert radar[radar.index("maybe_fall") + 1] == "none"
    assert "fall" not in radar


def test_shipped_ordonez_scenario_replays_three_hours_of_house_a() -> None:
    scenario = load(SCENARIOS / "ordonez-a-morning.toml")
    network = RecordingNetwork()
    actions: list[str] = []
    run_scenario(
        scenario,
        network,
        RunOptions(speed=math.inf, on_action=lambda a: actions.append(a.what)),
        FaultLog(),
    )

    assert scenario.length_s == 3 * 3600
    assert "bed-mat inactive" in actions  # she gets up at 10:18
    assert actions[-1] == "replay ends"
    assert {d.kind for d in scenario.devices} >= {
        "bed_sensor",
        "motion_sensor",
        "exit_door_contact",
    }
