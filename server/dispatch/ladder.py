"""The escalation ladder, as a pure step function: progress and a moment in, the next step,
the new progress and when to look again out.

Each rung (``DispatchSettings.levels``) names kinds of responder and how many of them to ask
in turn, best-ranked first. Each responder is notified, and notified again, up to
``notify_attempts`` times, ``notify_timeout_s`` apart, until someone accepts; then the next
responder, then the next rung; when the ladder runs out, the operator is alerted. Nobody is
asked twice for one alarm. The progress is a small value kept with the alarm (JSON), like a
filter's carried state: the same calls give the same answers on any server process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from server.dispatch.settings import DispatchSettings


@dataclass(frozen=True)
class Progress:
    level: int = 0  # the rung, an index into DispatchSettings.levels
    asked_on_level: int = 0  # responders asked on this rung so far
    current: int | None = None  # the responder being asked now
    attempt: int = 0  # notifications sent to ``current``
    tried: tuple[int, ...] = field(default=())  # everyone asked for this alarm

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "asked_on_level": self.asked_on_level,
            "current": self.current,
            "attempt": self.attempt,
            "tried": list(self.tried),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Progress:
        if not data:
            return cls()
        return cls(
            level=int(data["level"]),
            asked_on_level=int(data["asked_on_level"]),
            current=data["current"],
            attempt=int(data["attempt"]),
            tried=tuple(data["tried"]),
        )


@dataclass(frozen=True)
class Notify:
    responder_id: int
    attempt: int  # 1 for the first notification, 2 for the first repeat ...
    level: int


@dataclass(frozen=True)
class AlertOperator:
    """The ladder ran out: an operator must act."""

    tried: int  # how many responders were asked


Step = Notify | AlertOperator
Candidates = Callable[[int], Sequence[int]]  # rung index -> responder ids, best first


def next_step(
    progress: Progress, now: datetime, settings: DispatchSettings, candidates: Candidates
) -> tuple[Progress, Step, datetime | None]:
    """What to do when ``progress``'s timer runs out at ``now`` (or the ladder starts).

    ``candidates(level)`` ranks the responders who can go now for that rung; it is asked
    afresh at every step, since availability changes while an alarm escalates. Returns the
    new progress, the step, and when to call again (None once the operator is alerted).
    """
    wake = now + timedelta(seconds=settings.notify_timeout_s)
    if progress.current is not None and progress.attempt < settings.notify_attempts:
        repeated = replace(progress, attempt=progress.attempt + 1)
        return repeated, Notify(progress.current, repeated.attempt, progress.level), wake
    level, asked = progress.level, progress.asked_on_level
    while level < len(settings.levels):
        if asked < settings.levels[level].responders:
            fresh = next((r for r in candidates(level) if r not in progress.tried), None)
            if fresh is not None:
                moved = Progress(level, asked + 1, fresh, 1, (*progress.tried, fresh))
                return moved, Notify(fresh, 1, level), wake
        level, asked = level + 1, 0
    done = Progress(level, 0, None, 0, progress.tried)
    return done, AlertOperator(len(progress.tried)), None


def declined(progress: Progress, settings: DispatchSettings) -> Progress:
    """The current responder said no: the next step moves on without repeating."""
    return replace(progress, attempt=max(progress.attempt, settings.notify_attempts))


def chosen(progress: Progress, responder_id: int) -> Progress:
    """An operator sent ``responder_id``: ask them now; the ladder goes on from there if they
    do not accept."""
    tried = progress.tried if responder_id in progress.tried else (*progress.tried, responder_id)
    return replace(progress, current=responder_id, attempt=1, tried=tried)
