"""Every alarm kind is complete: a default priority, and a label on the console."""

from __future__ import annotations

import re
from pathlib import Path

from protocol import AlarmKind
from protocol.messages import DEFAULT_PRIORITY

CONSOLE_JS = Path(__file__).resolve().parents[2] / "server" / "console" / "static" / "console.js"


def test_every_kind_has_a_priority() -> None:
    assert set(DEFAULT_PRIORITY) == set(AlarmKind)
    assert all(0 <= p <= 9 for p in DEFAULT_PRIORITY.values())


def test_every_kind_has_a_console_label() -> None:
    table = re.search(r"const KIND_LABEL = \{(.*?)\};", CONSOLE_JS.read_text(), re.S)
    assert table is not None
    labelled = set(re.findall(r"(\w+):\s*\"", table.group(1)))
    assert labelled == {kind.value for kind in AlarmKind}
