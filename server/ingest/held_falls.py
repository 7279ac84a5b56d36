"""Cloud wearables' possible falls during their cancel window, kept in SQL.

:class:`HeldFalls` is the centre's counterpart of the gateway's held outbox row
(docs/protocol.md §8.1): a detection is written to ``cloud_fall_holds`` before anything else
(then the wearable is prompted), so a server that restarts, or another server process that
takes over detection, reads it back (:meth:`HeldFalls.resume`) and still sends the fall alarm
when the window ends, at once if it ended while nobody was watching. The row goes only after
the alarm is stored (or the wearer cancelled); a crash in between sends the alarm again, and
ingest stores an id once, so it is never raised twice.

A store that refuses a write does not lose a hold: it stays in memory and the write is tried
again on every tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from protocol import AlarmMessage, CommandBody, CommandKind, CommandMessage
from server.crud.fall_holds import HeldFall, add_hold, open_holds, remove_hold

log = logging.getLogger(__name__)
Prompt = Callable[[CommandMessage], bool]


class HeldFalls:
    """Possible falls by wearer; ``store_alarm`` is the normal ingest (True once stored)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store_alarm: Callable[[AlarmMessage], bool],
        prompt: Prompt | None,
    ) -> None:
        self._sessions = sessions
        self._store_alarm = store_alarm
        self._prompt = prompt
        self.by_wearer: dict[str, HeldFall] = {}
        self._unsaved: list[HeldFall] = []  # holds the store refused to write
        self._unremoved: list[str] = []  # alarm ids whose row the store refused to delete

    def __contains__(self, wearer: str) -> bool:
        return wearer in self.by_wearer

    def get(self, wearer: str) -> HeldFall | None:
        return self.by_wearer.get(wearer)

    def resume(self, now: float) -> int:
        """Take over the holds in SQL (this process now runs detection); how many.

        Each wearable whose window is still open is prompted again for what is left of it:
        the process that prompted it may have died before the command went out, and a
        wearable that restarted meanwhile shows nothing, yet a press still cancels."""
        with self._sessions() as session:
            found = open_holds(session)
        self.by_wearer = {hold.wearer: hold for hold in found}
        for hold in found:
            log.info("possible fall %s of %s resumed from the store", hold.alarm.id, hold.wearer)
            if hold.until - now >= 1:
                self._prompt_wearer(hold, now)
        return len(found)

    def drop(self) -> None:
        """Forget every hold in memory: another process runs detection (the rows stay)."""
        self.by_wearer, self._unsaved, self._unremoved = {}, [], []

    def hold(self, held: HeldFall, now: float) -> None:
        """Keep ``held`` until its window ends: in SQL first, then the wearable is prompted."""
        self.by_wearer[held.wearer] = held
        self._save(held)
        self._prompt_wearer(held, now)

    def _prompt_wearer(self, held: HeldFall, now: float) -> None:
        """A ``fall_prompt`` for the rest of ``held``'s window."""
        if self._prompt is None:
            return
        alarm = held.alarm
        prompt = CommandMessage(
            gateway_id=alarm.gateway_id,
            device_id=alarm.device_id,
            gateway_time=datetime.fromtimestamp(now, UTC),
            body=CommandBody(
                kind=CommandKind.FALL_PROMPT,
                alarm_id=alarm.id,
                duration_s=max(0, round(held.until - now)),
            ),
        )
        if not self._prompt(prompt):
            # Not fatal: the window runs on the centre's clock, prompted or not.
            log.warning("could not prompt %s for possible fall %s", held.wearer, alarm.id)

    def end(self, wearer: str) -> HeldFall | None:
        """The wearer's hold is over (cancelled, or its alarm stored): its row goes."""
        held = self.by_wearer.pop(wearer, None)
        if held is not None:
            self._unsaved = [h for h in self._unsaved if h is not held]
            self._remove(held.alarm.id)
        return held

    def release_due(self, now: float) -> None:
        """Store the alarm of every hold whose window has ended; retry refused writes."""
        for held in [h for h in self._unsaved if h.wearer in self.by_wearer]:
            self._unsaved.remove(held)
            self._save(held)
        for alarm_id in self._unremoved[:]:
            self._unremoved.remove(alarm_id)
            self._remove(alarm_id)
        for held in [h for h in self.by_wearer.values() if now >= h.until]:
            if self._store_alarm(held.alarm):  # refused: still held, tried on the next tick
                log.info("possible fall %s not cancelled: fall alarm stored", held.alarm.id)
                self.end(held.wearer)

    def _save(self, held: HeldFall) -> None:
        try:
            with self._sessions.begin() as session:
                add_hold(session, held)
        except SQLAlchemyError as err:
            log.warning("could not keep possible fall %s in the store (%s)", held.alarm.id, err)
            self._unsaved.append(held)

    def _remove(self, alarm_id: str) -> None:
        try:
            with self._sessions.begin() as session:
                remove_hold(session, alarm_id)
        except SQLAlchemyError as err:
            log.warning("could not clear possible fall %s in the store (%s)", alarm_id, err)
            self._unremoved.append(alarm_id)
