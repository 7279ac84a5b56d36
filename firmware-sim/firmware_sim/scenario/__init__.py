"""Scenario files that script a day in a home (format: docs/scenarios.md).

``format`` parses and checks the TOML; ``replay`` turns a sensor-event log into live sensors;
``load`` resolves both into a :class:`Scenario` on a time axis; ``plan`` makes it timed
actions on devices (``devices``); ``run`` plays it.
"""

from firmware_sim.scenario.format import ScenarioError
from firmware_sim.scenario.load import Scenario, load
from firmware_sim.scenario.run import RunOptions, RunResult, run_scenario

__all__ = ["RunOptions", "RunResult", "Scenario", "ScenarioError", "load", "run_scenario"]
