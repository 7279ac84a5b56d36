"""Zigbee faults: phantom presses, silence (with or without Zigbee2MQTT's offline), battery
drain; each shows in what the device publishes and in the fault record."""

from __future__ import annotations

import math

from firmware_sim.faults import FaultLog
from firmware_sim.faults.devices import PHANTOM_PRESS, battery_drain, repeat_presses, silence
from firmware_sim.timeline import SimClock, Timeline, run
from firmware_sim.zigbee_device import SosButton, make_device
from firmware_sim.zigbee_record import RecordingNetwork


def test_phantom_presses_look_like_presses_and_are_counted() -> None:
    network, log, timeline = RecordingNetwork(), FaultLog(), Timeline()
    sos = SosButton(network, "sos-1")
    repeat_presses(
        timeline, log, "sos-1", sos.press, fault=PHANTOM_PRESS, at_s=10, count=3, every_s=30
    )
    assert [a.at_s for a in timeline.actions()] == [10, 40, 70]
    run(timeline, SimClock(math.inf))

    emergencies = [s for s in network.states("sos-1") if s.get("action") == "emergency"]
    assert len(emergencies) == 3 == log.count(PHANTOM_PRESS, "sos-1")


def test_silent_device_skips_check_ins_and_offline_is_announced() -> None:
    network, log, timeline = RecordingNetwork(), FaultLog(), Timeline()
    pir = make_device(network, "pir", "motion_sensor")
    pir.announce(0)

    def set_silent(silent: bool) -> None:
        if silent:
            pir.go_offline()
        else:
            pir.silent = False
            pir.announce()

    silence(timeline, log, "pir", set_silent, at_s=100, for_s=7200, offline=True)
    timeline.add(3600, "a walk past the sensor", lambda: pir.set_active(True))
    run(timeline, SimClock(math.inf), idle=lambda now: pir.tick(now))

    topics = [(m.topic.rsplit("/", 1)[-1], m.json()) for m in network.messages]
    assert topics[0] == ("availability", {"state": "online"})
    assert ("availability", {"state": "offline"}) in topics
    offline_at = topics.index(("availability", {"state": "offline"}))
    # Nothing from the device between going offline and coming back.
    assert topics[offline_at + 1] == ("availability", {"state": "online"})
    assert [r.kind for r in log.records] == ["silent", "resume"]
    assert log.records[0].detail == {"offline": True}


def test_battery_drain_reaches_battery_low_in_the_published_state() -> None:
    network, log, timeline = RecordingNetwork(), FaultLog(), Timeline()
    leak = make_device(network, "leak", "water_leak_sensor")
    battery_drain(
        timeline,
        log,
        "leak",
        leak.set_battery,
        at_s=0,
        start_percent=100,
        to_percent=5,
        over_s=3 * 86400,
        steps=4,
    )
    run(timeline, SimClock(math.inf))

    states = network.states("leak")
    assert [s["battery"] for s in states] == [76, 52, 29, 5]
    assert [s["battery_low"] for s in states] == [False, False, False, True]
    assert log.count("battery") == 4
