"""Log lines for people and for machines, with the alarm id on every line about an alarm.

``ELDERCARE_LOG_FORMAT=json`` makes the gateway and the server write one JSON object per line
(``ts``, ``level``, ``logger``, ``msg``, and ``alarm_id`` when the line concerns an alarm),
which a log shipper indexes so that one alarm's whole path can be found across processes. The
id comes from the record's ``alarm_id`` attribute (``log.info(..., extra={"alarm_id": ...})``)
or, failing that, from the message: every line that speaks of an alarm writes
``alarm <32 hex digits>`` (or ``fall <id>``, ``notification <alarm id>/...``). The text
format is the default, for a terminal.

Shared by gateway and server because the id is part of the wire contract (``MessageId``).
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime

FORMAT_ENV = "ELDERCARE_LOG_FORMAT"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# "alarm <id>", "fall <id>" (a held fall), "notification <alarm id>/<responder>/<attempt>".
_ALARM_ID = re.compile(r"\b(?:alarm|fall|notification) ([0-9a-f]{32})\b")


def alarm_id_of(record: logging.LogRecord, message: str) -> str | None:
    given = getattr(record, "alarm_id", None)
    if isinstance(given, str):
        return given
    found = _ALARM_ID.search(message)
    return found.group(1) if found else None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": message,
        }
        alarm_id = alarm_id_of(record, message)
        if alarm_id is not None:
            line["alarm_id"] = alarm_id
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    """Root logging for a process's main: text, or JSON lines when the environment asks."""
    handler = logging.StreamHandler()
    if os.environ.get(FORMAT_ENV, "text").lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
