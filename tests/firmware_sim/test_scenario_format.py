"""Scenario files: bad ones are refused with an error that names the step and the problem;
good ones are placed on the time axis as documented (docs/scenarios.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from firmware_sim.scenario import ScenarioError, load
from firmware_sim.scenario.format import parse_duration

HEAD = """
[scenario]
name = "t"
start = 2024-03-04T06:00:00

[[device]]
name = "pir"
kind = "motion_sensor"
room = "hall"

[[device]]
name = "sos"
kind = "sos_button"

[[device]]
name = "btn"
kind = "call_button"
port = "pty:/tmp/never-opened"
"""


def write(tmp_path: Path, body: str, head: str = HEAD) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(head + body)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[[step]\n", "not valid TOML"),
        ("[[step]]\ndevice = 'pir'\n", "step 1: needs exactly one of press, set, wait"),
        ("[[step]]\nwait = '1m'\npress = 'emergency'\ndevice = 'sos'\n", "found press, wait"),
        ("[[step]]\nwait = '1m'\ncolour = 'red'\n", "step 1 (wait): colour: Extra inputs"),
        ("[[step]]\nwait = 'soon'\n", "step 1 (wait): wait: Value error, 'soon' is not a dur"),
        (
            "[[step]]\nwait = '1m'\n[[step]]\ndevice = 'ghost'\npress = 'emergency'\n",
            "step 2: unknown device 'ghost'",
        ),
        (
            "[[step]]\ndevice = 'pir'\nset = { contact = false }\n",
            "a motion_sensor has no fields ['contact']",
        ),
        ("[[step]]\ndevice = 'pir'\npress = 'emergency'\n", "a motion_sensor has no emergency key"),
        ("[[step]]\ndevice = 'sos'\npress = 'service'\n", "a sos_button has no service key"),
        ("[[step]]\ndevice = 'pir'\nfault = 'unplug'\n", "unplug needs a serial device"),
        ("[[step]]\ndevice = 'pir'\nfault = 'phantom_press'\n", "phantom presses are a Zigbee SOS"),
        ("[[step]]\ndevice = 'btn'\nfault = 'silence'\noffline = true\n", "offline applies to"),
        ("[[step]]\ndevice = 'btn'\nfault = 'melt'\n", "step 1 (fault): fault: Input should be"),
        (
            "[[step]]\ndevice = 'btn'\nfault = 'line_noise'\ndrop = 1.5\n",
            "drop: Input should be less than",
        ),
        ("[[step]]\nat = 07:00:00\nafter = '1m'\nwait = '1s'\n", "give 'at' or 'after', not both"),
        (
            "[[step]]\nat = 2024-03-04T08:00:00\nwait = '1s'\n"
            "[[step]]\nat = 2024-03-04T07:00:00\nwait = '1s'\n",
            "step 2: 'at' is before the previous step",
        ),
        ("[[step]]\nreplay = 'missing.csv'\n", "step 1 (replay): cannot read"),
        ("[bogus]\n", "unknown top-level keys ['bogus']"),
    ],
)
def test_bad_scenarios_are_refused_naming_the_problem(
    tmp_path: Path, body: str, message: str
) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ScenarioError) as raised:
        load(path)
    assert str(raised.value).startswith(str(path))
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("devices", "message"),
    [
        ("[[device]]\nname = 'x'\nkind = 'toaster'\n", "unknown kind 'toaster'"),
        ("[[device]]\nname = 'x'\nkind = 'call_button'\n", "a serial device needs port"),
        (
            "[[device]]\nname = 'x'\nkind = 'door_contact'\nport = 'pty:/tmp/x'\n",
            "only serial devices",
        ),
        (
            "[[device]]\nname = 'x'\nkind = 'motion_sensor'\n"
            "transport = 'serial'\nport = 'pty:/x'\n",
            "has no serial form",
        ),
        (
            "[[device]]\nname = 'x'\nkind = 'sos_button'\n"
            "[[device]]\nname = 'x'\nkind = 'sos_button'\n",
            "declared twice",
        ),
        (
            "[[device]]\nname = 'has space'\nkind = 'sos_button'\n",
            "device 1: name: String should match",
        ),
        (
            "[[device]]\nname = 'x'\nkind = 'sos_button'\nbattery = 140\n",
            "battery: Input should be less",
        ),
        (
            "[[device]]\nname = 'x'\nkind = 'smart_plug'\nstate = { colour = 1 }\n",
            "no fields ['colour']",
        ),
    ],
)
def test_bad_devices_are_refused(tmp_path: Path, devices: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load(write(tmp_path, devices, head="[scenario]\nname = 't'\n"))


def test_steps_are_placed_at_times_of_day_after_durations_and_after_waits(tmp_path: Path) -> None:
    body = """
[[step]]
device = "pir"
set = { occupancy = true }      # 0: the start

[[step]]
after = "90s"
device = "pir"
set = { occupancy = false }     # 90 s

[[step]]
wait = "1h"                     # 90 s .. 3690 s

[[step]]
device = "sos"
press = "emergency"             # right after the wait

[[step]]
at = 05:30:00                   # before the start's time of day: the next morning
device = "btn"
press = "family"

[[step]]
after = "2m"
device = "btn"
fault = "unplug"
for = "30s"                     # runs in the background: the next step does not wait

[[step]]
after = "0s"
device = "btn"
press = "service"
"""
    scenario = load(write(tmp_path, body))
    assert [p.at_s for p in scenario.steps] == [
        0,
        90,
        90,
        3690,
        23.5 * 3600,
        23.5 * 3600 + 120,
        23.5 * 3600 + 120,
    ]
    assert [p.label for p in scenario.steps][:3] == [
        "step 1 (set)",
        "step 2 (set)",
        "step 3 (wait)",
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), (1.5, 1.5), ("90s", 90.0), ("5m", 300.0), ("1h30m", 5400.0), ("0.5s", 0.5)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "-1s", True, "1m1h"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
