"""Fixtures for the simulator's tests: the edge's event recorder and its guard that fails a
test on a thread that died or an error that was only logged."""

from tests.edge.conftest import fail_on_hidden_errors, recorder

__all__ = ["fail_on_hidden_errors", "recorder"]
