"""Every alarm kind is complete: a default priority, and a label on the console."""

from __future__ import annotations

import json
from pathlib import Path

from protocol import AlarmKind
from protocol.messages import DEFAULT_PRIORITY

CATALOGUES = Path(__file__).resolve().parents[2] / "server" / "console" / "static" / "i18n"


def test_every_kind_has_a_priority() -> None:
    assert set(DEFAULT_PRIORITY) == set(AlarmKind)
    assert all(0 <= p <= 9 for p in DEFAULT_PRIORITY.values())


def test_every_kind_has_a_console_label() -> None:
    """In every language of the console (its message catalogues), and no label for a kind
    that does not exist."""
    for catalogue in sorted(CATALOGUES.glob("*.json")):
        keys = json.loads(catalogue.read_text("utf-8"))
        labelled = {key.removeprefix("kind.") for key in keys if key.startswith("kind.")}
        assert labelled == {kind.value for kind in AlarmKind}, catalogue.name
