"""The server shortens CPython's thread switch interval (see server/core/switching.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from server.core.switching import SWITCH_INTERVAL_S, tune_switching


@pytest.fixture
def restored() -> Iterator[None]:
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("restored")
def test_the_switch_interval_is_shorter_than_cpythons_default() -> None:
    sys.setswitchinterval(0.005)  # CPython's default
    tune_switching()
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_S)
    assert sys.getswitchinterval() < 0.005
