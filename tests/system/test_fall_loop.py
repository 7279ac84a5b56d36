"""A fall on real components: a simulated wearable replays a real SisFall fall over a pty, the
gateway's detector holds a possible fall for the cancel window (the wearable buzzes), and the
centre gets the fall alarm with its acceleration trace. A press during the window cancels."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from firmware_sim.serial_device import Pendant

from edge.serial.payloads import Indicate, KeyKind, Pattern
from gateway.service import ALARM_SENT_SHOWN_S, HELP_COMING_SHOWN_S
from onebox.net import wait_for
from tests.system.conftest import Centre, SerialHome

SISFALL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sisfall"
WINDOW_S = 10.0  # long enough for prompt -> press -> gateway on a loaded machine
_numbers = itertools.count(1)


def recording(trial_id: str) -> np.ndarray:
    with (SISFALL / "trials.csv").open() as handle:
        index = next(i for i, r in enumerate(csv.DictReader(handle)) if r["trial_id"] == trial_id)
    data = np.load(SISFALL / "sisfall_adxl345_200hz.npz")
    offsets = data["offsets"]
    return data["samples"][offsets[index] : offsets[index + 1]].astype(np.float64) * 32 / 8192


@pytest.fixture
def pendant(serial_home: Callable[..., tuple[SerialHome, Pendant]]) -> tuple[str, Pendant]:
    """A gateway with a fall-detection pendant (accelerometer and key) on a pty."""
    home, device = serial_home(Pendant, "pendant", fall_cancel_window_s=WINDOW_S)
    return home.device_id, device


def _falls(centre: Centre, device_id: str) -> list[dict[str, object]]:
    return [
        a
        for a in centre.console.alarms(limit=1000)
        if a["device_id"] == device_id and a["kind"] == "fall"
    ]


def fall_and_prompt(device: Pendant) -> None:
    """The pendant falls with a real SisFall fall; the resident is asked first: it buzzes."""
    device.play(recording("F01_SA01_R01"), 200.0)
    prompt = Indicate(Pattern.PROMPT, Pattern.PROMPT, round(WINDOW_S))
    assert device.wait_for(lambda: prompt in device.received, 20)


def test_fall_reaches_the_centre_with_its_trace(
    centre: Centre, pendant: tuple[str, Pendant]
) -> None:
    device_id, device = pendant
    fall_and_prompt(device)
    wait_for(lambda: len(_falls(centre, device_id)) == 1, 30, "the fall alarm")
    [alarm] = _falls(centre, device_id)
    detail = centre.console.get(f"/api/alarms/{alarm['id']}")
    assert detail["priority"] == 0
    trace = detail["trace"]
    assert len(trace["t_s"]) == len(trace["g"]) > 100
    assert min(trace["t_s"]) < 0 < max(trace["t_s"])
    # The wearer, who may be on the floor, learns the alarm got through and then that help
    # is coming: a fall answers no key press, so the stages come as INDICATE.
    sent = Indicate(Pattern.ALARM_SENT, Pattern.ALARM_SENT, ALARM_SENT_SHOWN_S)
    assert device.wait_for(lambda: sent in device.received, 20)
    centre.console.acknowledge(alarm["id"])
    coming = Indicate(Pattern.HELP_COMING, Pattern.HELP_COMING, HELP_COMING_SHOWN_S)
    assert device.wait_for(lambda: coming in device.received, 20)


def test_press_during_the_prompt_cancels_the_fall(
    centre: Centre, pendant: tuple[str, Pendant]
) -> None:
    device_id, device = pendant
    fall_and_prompt(device)
    device.press(KeyKind.SERVICE)  # "I'm all right" (the emergency key would call for help)
    off = Indicate(Pattern.OFF, Pattern.OFF, 0)
    assert device.wait_for(lambda: off in device.received, 10)
    # The cancellation reaches the centre as a device event; no fall, no emergency call.
    wait_for(
        lambda: any(
            e["device_id"] == device_id and e["kind"] == "fall_cancelled"
            for e in centre.console.get("/api/device-events", limit=1000)
        ),
        20,
        "the cancellation at the centre",
    )
    assert [a for a in centre.console.alarms(limit=1000) if a["device_id"] == device_id] == []
