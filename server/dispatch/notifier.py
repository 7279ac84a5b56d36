"""How the engine reaches people: a ``Notifier`` is called once per notification.

Channels (an MQTT topic per responder, signed webhooks, SMS or voice through webhook
adapters, the responder's mobile page) plug in by implementing this protocol. The engine
calls it after the step is committed, so a notification is never sent for a step another
server process took; if sending fails, the ladder's next repeat is the retry.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResponderCall:
    """Ask a responder to go to an alarm (``attempt`` 2 and up are repeats)."""

    alarm_id: str
    responder_id: int
    attempt: int
    level: int
    alarm_kind: str
    home_id: str
    priority: int
    at: datetime
    # For the person deciding whether to go: where, and how long the centre thinks it takes.
    address: str | None = None
    eta_s: float | None = None


@dataclass(frozen=True)
class OperatorAlert:
    """The ladder ran out, or nobody could be asked: an operator must act now."""

    alarm_id: str
    alarm_kind: str
    home_id: str
    priority: int
    tried: int
    at: datetime


class Notifier(Protocol):
    def call_responder(self, call: ResponderCall) -> None: ...

    def alert_operator(self, alert: OperatorAlert) -> None: ...


class RecordingNotifier:
    """The default: logs each notification and keeps the recent ones (for tests and for a
    centre that has no channel configured yet, where operators see everything anyway)."""

    def __init__(self, keep: int = 1000) -> None:
        self._lock = threading.Lock()
        self.calls: deque[ResponderCall] = deque(maxlen=keep)
        self.alerts: deque[OperatorAlert] = deque(maxlen=keep)

    def call_responder(self, call: ResponderCall) -> None:
        log.info(
            "alarm %s: calling responder %s (attempt %d)",
            call.alarm_id,
            call.responder_id,
            call.attempt,
        )
        with self._lock:
            self.calls.append(call)

    def alert_operator(self, alert: OperatorAlert) -> None:
        log.warning(
            "alarm %s: nobody accepted (%d asked); operator alerted", alert.alarm_id, alert.tried
        )
        with self._lock:
            self.alerts.append(alert)
