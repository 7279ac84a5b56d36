"""Thousands of simulated homes for load tests of the centre, on wire contract v1.

- :mod:`.rates`: how much a home says, and why (per-home rates, a load multiplier);
- :mod:`.gateway`: one simulated gateway: status, telemetry, events, alarms resent until the
  centre's receipt, as ``gateway/uplink.py`` does;
- :mod:`.shard`: many gateway connections on one thread (one broker account each, as the
  centre's ACL requires);
- :mod:`.ledger`: what was sent and which receipts came back (lost, duplicates, latency);
- :mod:`.fleet`: :class:`Fleet`, the piece a benchmark or chaos campaign imports.
"""

from firmware_sim.fleet.fleet import Fleet, FleetConfig, gateway_ids
from firmware_sim.fleet.ledger import FleetLedger, FleetSummary
from firmware_sim.fleet.rates import HomeRates

__all__ = ["Fleet", "FleetConfig", "FleetLedger", "FleetSummary", "HomeRates", "gateway_ids"]
