"""Structured logs: one JSON object per line, with the alarm id on lines about an alarm."""

from __future__ import annotations

import json
import logging

import pytest

from protocol.logs import FORMAT_ENV, JsonFormatter, configure_logging

ID = "0123456789abcdef0123456789abcdef"


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("gateway.service", logging.WARNING, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


@pytest.mark.parametrize(
    ("message", "args", "alarm_id"),
    [
        ("alarm %s raised: %s from %s", (ID, "fall", "pendant-1"), ID),
        ("possible fall %s cancelled by the resident", (ID,), ID),
        ("notification %s not published on %s", (f"{ID}/r-7/2", "topic"), ID),
        ("gateway %s went offline", ("gw-1",), None),
        ("alarm %s", ("not-an-id",), None),
    ],
)
def test_the_alarm_id_is_found_in_the_line(
    message: str, args: tuple[object, ...], alarm_id: str | None
) -> None:
    line = json.loads(JsonFormatter().format(record(message, *args)))
    assert line.get("alarm_id") == alarm_id
    assert line["msg"] == message % args
    assert (line["level"], line["logger"]) == ("WARNING", "gateway.service")
    assert line["ts"].endswith("+00:00")


def test_an_explicit_alarm_id_wins_and_exceptions_are_kept() -> None:
    try:
        raise OSError("disk full")
    except OSError:
        import sys

        made = record("could not persist the press", alarm_id=ID)
        made.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(made))
    assert line["alarm_id"] == ID
    assert "disk full" in line["exc"]


def test_the_environment_chooses_the_format(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        monkeypatch.setenv(FORMAT_ENV, "json")
        configure_logging()
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
        monkeypatch.setenv(FORMAT_ENV, "text")
        configure_logging()
        assert not isinstance(root.handlers[0].formatter, JsonFormatter)
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
