"""Fault injection for simulated devices: composable, seeded, and recorded.

- :mod:`~firmware_sim.faults.record`: the :class:`FaultLog` every injected fault is written
  to (what, which device, when), so a test or a chaos campaign can count them.
- :mod:`~firmware_sim.faults.line`: a serial line that garbles, drops and duplicates frames
  (:class:`FaultyPort`, wrapping any device port), or carries nothing (a dead device).
- :mod:`~firmware_sim.faults.devices`: faults of the device itself, planned on a timeline:
  port unplug and replug, a stuck key, battery drain, going silent, phantom SOS presses.
"""

from firmware_sim.faults.line import FaultyPort, LineFaults
from firmware_sim.faults.record import FaultLog, FaultRecord

__all__ = ["FaultLog", "FaultRecord", "FaultyPort", "LineFaults"]
