"""Runs the system's real components on one machine, for the demo and the system tests:
mosquitto with passwords and the production ACL, PostgreSQL, and the project's own processes,
each on a free loopback port, each stopped again afterwards."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
