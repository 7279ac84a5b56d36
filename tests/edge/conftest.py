"""Edge fixtures: an event recorder, and a guard that fails a test on a swallowed error."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from tests.edge.recording import EventRecorder


@pytest.fixture
def recorder() -> EventRecorder:
    return EventRecorder()


@pytest.fixture(autouse=True)
def fail_on_hidden_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A test fails if a driver thread died or an exception was only logged."""
    crashed: list[threading.ExceptHookArgs] = []
    previous = threading.excepthook
    threading.excepthook = crashed.append
    try:
        yield
    finally:
        threading.excepthook = previous
    assert not crashed, [f"{c.thread}: {c.exc_value!r}" for c in crashed]
    logged = [
        r.getMessage()
        for r in caplog.get_records("call")
        if r.levelno >= logging.ERROR or r.exc_info
    ]
    assert not logged, logged
