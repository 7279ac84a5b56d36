"""The home's sensors watched for silent emergencies: inactivity, night bed-exit, wandering.

Zigbee2MQTT sensors become :class:`~gateway.detect.home_events.SensorEvent` (changes only:
Zigbee2MQTT repeats the whole state with every report, and a door contact re-reporting
"closed" with its battery level is not somebody moving). Key presses count as signs of life
too. The detectors work in the home's local time; the gateway's clock is converted here.

Unusual inactivity warns the resident first: when the detector's pre-warning falls due, every
serial device of the home buzzes, and a key press means "I'm all right" (the detector, fed
that press, cancels). Detector alarms go to the outbox like any other alarm.

Away periods set at the centre (``HomeConfigBody.away``) silence the detectors while the home
is empty (:mod:`gateway.detect.away`); a day whose check-in reminder or deadline falls in one
expects no check-in. Activity that ends a period early is told to the centre (``away_ended``).

**Clock steps.** The detectors take time from the events and from :meth:`HomeWatch.tick`, both
read off the wall clock, which NTP or an installer may step. Between two calls the wall clock
should move as the monotonic clock does; when the two disagree by ``CLOCK_STEP_S`` or more,
the difference is a step, and the detectors' state is moved by it (``HomeDetector.shift``): a
step forward of an hour is not an hour of silence (no inactivity alarm by itself), a step back
does not hold the detectors until the wall clock catches up. A step while the gateway is down
cannot be told from the time it was down (the monotonic clock restarts with the host).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.events import KeyPressed, SensorChanged
from gateway import OutboxError, homestate
from gateway.detect.away import AWAY_ENDED, AwayPeriod
from gateway.detect.checkin import (
    DAY_S,
    LATE,
    MISSED,
    REMINDER,
    CheckinConfig,
    CheckinPressed,
    DailyCheckin,
)
from gateway.detect.home import HomeMonitor
from gateway.detect.home_events import HomeAlarm, SensorEvent, SensorKind
from gateway.detect.inactivity import InactivityDetector
from gateway.detect.night import NightBedExitDetector, NightConfig, WanderingDetector
from gateway.outbox import Outbox
from protocol import (
    AlarmBody,
    AlarmKind,
    AlarmMessage,
    Channel,
    EventBody,
    EventMessage,
    Origin,
    encode,
)
from protocol.home_config import AwayPeriod as AwayInstants
from protocol.messages import DEFAULT_PRIORITY

log = logging.getLogger(__name__)
SAVE_EVERY_S = 300.0
ACTIVITY_REPEAT_S = 300.0
# A wall-clock step at least this large is corrected (module docstring). NTP slews far less
# than a second a minute; the detectors think in minutes.
CLOCK_STEP_S = 10.0
# Home detector outputs the centre records as events, not alarms.
EVENTS_FOR_CENTRE = frozenset({"checkin_late", AWAY_ENDED})
ALARM_OF = {
    "inactivity": AlarmKind.INACTIVITY,
    "night_bed_exit": AlarmKind.NIGHT_BED_EXIT,
    "wandering": AlarmKind.WANDERING,
    "missed_checkin": AlarmKind.MISSED_CHECKIN,
}


def local_seconds(ts: float) -> float:
    """Unix time -> the host's local wall-clock time in seconds, read as UTC (detector time)."""
    return ts + time.localtime(ts).tm_gmtoff


def zone_time(zone: str) -> Callable[[float], float]:
    """Like :func:`local_seconds`, for the home's IANA time zone (e.g. ``Asia/Shanghai``):
    the gateway's host may run on UTC while the resident lives by the local clock."""
    tz = ZoneInfo(zone)

    def local(ts: float) -> float:
        offset = datetime.fromtimestamp(ts, UTC).astimezone(tz).utcoffset()
        return ts + (offset.total_seconds() if offset is not None else 0.0)

    return local


class HomeWatch:
    def __init__(
        self,
        gateway_id: str,
        home_id: str,
        outbox: Outbox,
        *,
        rooms: dict[str, str],
        clock: Callable[[], float],
        prompt: Callable[[bool, int], None],
        local: Callable[[float], float] = local_seconds,
        checkin: CheckinConfig | None = None,
        state_path: Path | None = None,
        on_activity: Callable[[SensorChanged, str], None] | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.gateway_id = gateway_id
        self.home_id = home_id
        self.outbox = outbox
        self._state_path = state_path
        # The centre draws the last 24 h of activity next to an inactivity alarm: every change,
        # and a sensor that keeps re-reporting "motion" at most every ACTIVITY_REPEAT_S.
        self._on_activity = on_activity
        self._reported_at: dict[str, float] = {}
        restored = homestate.load(state_path) if state_path is not None else None
        self.monitor = restored or HomeMonitor()
        self._saved_at = clock()
        self._rooms = rooms
        self._clock = clock
        # None: ``clock`` is taken as it is (a simulation's or a test's clock does not step).
        self._monotonic = monotonic
        self._marks = (clock(), monotonic() if monotonic is not None else 0.0)
        self._prompt = prompt
        self._local = local
        self._values: dict[str, int] = {}
        self._unsent: list[HomeAlarm] = []  # alarms the outbox refused; retried every tick
        self._prompted_for: float | None = None  # the pre-warning time we buzzed for
        # Watched from the start of today: a gateway restarted between the reminder and the
        # deadline must still raise the missed check-in.
        today = self._local(clock()) // 86_400 * 86_400
        self.checkin = DailyCheckin(checkin, start=today) if checkin is not None else None
        # Restored detectors still know the silence that was going on; fresh ones need one.
        self._booted = restored is not None
        self._checkin_reminded = False  # a check-in reminder is buzzing

    def reconfigure(
        self,
        *,
        rooms: dict[str, str],
        local: Callable[[float], float],
        checkin: CheckinConfig | None,
        night: NightConfig,
        away: Sequence[AwayInstants] = (),
    ) -> None:
        """The centre changed the home: new rooms, clock, check-in, night profile and away
        periods from now on. What the detectors have learned stays; a changed check-in starts
        afresh today; an away period already ended early by activity stays ended."""
        self._rooms = dict(rooms)
        self._local = local
        self.monitor.away.replace(
            tuple(
                AwayPeriod(local(p.start.timestamp()), local(p.end.timestamp()), p.note)
                for p in away
            )
        )
        for detector in self.monitor.detectors:
            if isinstance(detector, NightBedExitDetector | WanderingDetector):
                detector.config = night
        current = self.checkin.config if self.checkin is not None else None
        if checkin != current:
            if self._checkin_reminded:
                self._prompt(False, 0)
            self._checkin_reminded = False
            today = self._local(self._clock()) // 86_400 * 86_400
            self.checkin = DailyCheckin(checkin, start=today) if checkin is not None else None

    @property
    def _inactivity(self) -> InactivityDetector | None:
        return next((d for d in self.monitor.detectors if isinstance(d, InactivityDetector)), None)

    def follow_clock(self) -> None:
        """Correct the detectors for a wall-clock step since the last look (module
        docstring); called before anything reads the clock for them."""
        if self._monotonic is None:
            return
        wall, mono = self._clock(), self._monotonic()
        last_wall, last_mono = self._marks
        self._marks = (wall, mono)
        step = (wall - last_wall) - (mono - last_mono)
        if abs(step) < CLOCK_STEP_S:
            return
        log.warning("wall clock stepped by %+.0f s: home detectors' times moved with it", step)
        self.monitor.shift(step)
        if self.checkin is not None:
            self.checkin.shift(step)
        self._saved_at += step
        self._reported_at = {d: t + step for d, t in self._reported_at.items()}

    def on_sensor(self, change: SensorChanged) -> list[str]:
        self.follow_clock()
        device_id = change.device.device_id
        repeated = self._values.get(device_id) == change.value
        # A repeated state is no news, except motion: a PIR re-reports "occupancy: true" while
        # someone keeps moving and says nothing more until they stop.
        if repeated and not (change.kind == SensorKind.MOTION and change.value == 1):
            return []
        self._values[device_id] = change.value
        self._report_activity(change, repeated=repeated)
        event = SensorEvent(
            self._local(change.received_at),
            device_id,
            SensorKind(change.kind),
            self._rooms.get(device_id, ""),
            change.value,
        )
        return self._raise(self.monitor.feed(event))

    def _report_activity(self, change: SensorChanged, *, repeated: bool) -> None:
        if self._on_activity is None:
            return
        device_id = change.device.device_id
        last = self._reported_at.get(device_id)
        if repeated and last is not None and change.received_at - last < ACTIVITY_REPEAT_S:
            return
        self._reported_at[device_id] = change.received_at
        self._on_activity(change, self._rooms.get(device_id, ""))

    def on_press(self, press: KeyPressed, *, answering: bool) -> bool:
        """Feed a press as a sign of life (and as the day's check-in). With ``answering``
        (a key that may mean "I'm all right"), True if it answered a prompt that was on."""
        self.follow_clock()
        answered = answering and (self.prompting or self._checkin_reminded)
        local = self._local(press.received_at)
        event = SensorEvent(local, press.device.device_id, SensorKind.MOTION, "", 1)
        self._raise(self.monitor.feed(event))
        if self.checkin is not None:
            self._raise(self.checkin.feed(CheckinPressed(local, press.device.device_id)))
        if answered:
            self._prompted_for = None
            self._checkin_reminded = False
            self._prompt(False, 0)
            log.info("prompt answered by a key press")
        return answered

    @property
    def prompting(self) -> bool:
        detector = self._inactivity
        return (
            self._prompted_for is not None
            and detector is not None
            and detector.prewarn_at == self._prompted_for
        )

    def save(self) -> None:
        """Keep what the detectors know (see :mod:`gateway.homestate`)."""
        if self._state_path is None:
            return
        try:
            homestate.save(self.monitor, self._state_path)
        except OSError:
            log.exception("could not save the home detectors' state")
        self._saved_at = self._clock()

    def tick(self) -> list[str]:
        """Advance the detectors to now; buzz a pre-warning that has fallen due."""
        self.follow_clock()
        if self._clock() - self._saved_at >= SAVE_EVERY_S:
            self.save()
        now = self._local(self._clock())
        if not self._booted:
            # What the detectors knew is gone with the restart. Start a silence now, so that a
            # resident already lying on the floor is still found (counted from the restart).
            self._booted = True
            self._raise(self.monitor.feed(SensorEvent(now, "gateway", SensorKind.MOTION, "", 0)))
        retry, self._unsent = self._unsent, []
        raised = self._raise(retry)
        raised += self._raise(self.monitor.advance(now))
        if self.checkin is not None:
            raised += self._raise(self.checkin.advance(now))
        detector = self._inactivity
        due = detector.prewarn_at if detector is not None else None
        if self._prompted_for is not None and due != self._prompted_for:
            # Over without a press: someone moved (the detector cancelled), or the alarm went.
            self._prompted_for = None
            self._prompt(False, 0)
        if due is not None and due <= now and self._prompted_for != due:
            self._prompted_for = due
            window = round(detector.config.prewarn_s) if detector is not None else 0
            self._prompt(True, window)
            log.info("inactivity pre-warning: prompting the resident")
        return raised

    def _record_event(self, alarm: HomeAlarm) -> None:
        """A detector output the centre answers or keeps, but that is no alarm: a late
        check-in (the operator handling the missed one must hear she is all right), an away
        period ended by activity."""
        now = self._clock()
        event = EventMessage(
            gateway_id=self.gateway_id,
            gateway_time=datetime.fromtimestamp(now, UTC),
            body=EventBody(kind=alarm.type, detail=dict(alarm.detail)),
        )
        try:
            self.outbox.add(event.id, Channel.EVENT.value, encode(event), now)
        except OutboxError:
            log.critical("could not store the %s event %s", alarm.type, alarm.detail)
            return
        log.info("%s recorded: %s", alarm.type, alarm.detail)

    def _checkin_excused(self, alarm: HomeAlarm) -> bool:
        """A check-in reminder, alarm or late press of a day the home is away at its reminder
        or its deadline: that day expects no check-in (all judged by the same two times)."""
        if self.checkin is None or alarm.type not in (REMINDER, MISSED, LATE):
            return False
        config = self.checkin.config
        due = alarm.time // DAY_S * DAY_S + config.due_s  # all three fall on their own day
        reminder, deadline = due - config.reminder_before_s, due + config.grace_s
        away = self.monitor.away
        if away.covers(reminder) or away.covers(deadline):
            log.info("%s at %s not raised: the home is away", alarm.type, alarm.time)
            return True
        return False

    def _raise(self, alarms: list[HomeAlarm]) -> list[str]:
        raised = []
        for alarm in alarms:
            if self._checkin_excused(alarm):
                continue
            if alarm.type == "checkin_reminder":  # for the resident, not the centre
                self._checkin_reminded = True
                self._prompt(
                    True, round(self.checkin.config.reminder_before_s) if self.checkin else 0
                )
                continue
            if alarm.type in EVENTS_FOR_CENTRE:
                self._record_event(alarm)
                continue
            if alarm.type == "missed_checkin":
                self._checkin_reminded = False
            kind = ALARM_OF.get(alarm.type)
            if kind is None:
                log.warning("no alarm kind for home detector output %r", alarm.type)
                continue
            now = self._clock()
            message = AlarmMessage(
                gateway_id=self.gateway_id,
                gateway_time=datetime.fromtimestamp(now, UTC),
                body=AlarmBody(
                    kind=kind,
                    priority=DEFAULT_PRIORITY[kind],
                    home_id=self.home_id,
                    origin=Origin(transport="gateway", device_kind="home_monitor"),
                    detail=dict(alarm.detail),
                ),
            )
            try:
                self.outbox.add(message.id, Channel.ALARM.value, encode(message), now)
            except OutboxError:
                # The detector has moved on; this list is now the alarm's only copy.
                log.critical("could not store %s alarm; retrying", alarm.type)
                self._unsent.append(alarm)
                continue
            log.warning("%s alarm %s for %s", alarm.type, message.id, self.home_id)
            raised.append(message.id)
        if raised:
            self._prompted_for = None
        return raised
