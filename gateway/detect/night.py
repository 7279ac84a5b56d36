"""Night-time alarms: out of bed too long at night, and leaving home at night (wandering).

Both detectors follow :class:`~gateway.detect.home_events.HomeDetector`: the clock moves only
through ``feed``/``advance``, every deadline is a function of the state the last event left,
and a deadline is acted on at its own time (never at the time ``advance`` happened to be
called), so extra ``advance`` calls change nothing.

**Signs of life.** :func:`is_indoor_activity`: a sensor becoming active, or a bed, seat or
door becoming inactive (somebody got up or closed a door). A PIR becoming inactive is its own
hold timer running out and an appliance switching off may be its own timer (a toaster pops),
so neither is a sign of anybody. The exit door is not *indoor* activity.

**Night bed exit** (:class:`NightBedExitDetector`). Rule of thumb in products: out of bed more
than 45 min between 22:00 and 06:00 (DOMAIN.md); 20 min for a resident with dementia. A spell
starts when the bed empties during the night window and the alarm falls due ``max_out_s``
later. Against false alarms on real logs:

- *Flicker.* Back in bed counts only once the bed has stayed occupied ``debounce_s`` (1 min);
  a shorter blip does not end the spell. The alarm needs the bed empty at the deadline, and
  empty for at least ``debounce_s``, so a mat that drops out under a sleeper for a few
  seconds never alarms.
- *Awake, not fallen.* The deadline runs from the last indoor sign of life, not from the bed
  exit, and stops while a seat is occupied: somebody reading in the armchair at 2 a.m. or
  pottering in the kitchen is not on the floor. The cost: a fall after activity is reported
  ``max_out_s`` after the last activity rather than after the bed exit. Bed events do not
  push the deadline (a flickering mat is not somebody walking about).
- *Up for the day.* If the night window ends while the spell is open and there has been any
  sign of life since the bed exit, the resident got up early for the day: the spell ends and
  the inactivity detector watches the day. With no sign of life since the exit (out of bed at
  05:40, then nothing) the spell runs on to its deadline.
- *Out of the door.* An exit-door opening pauses the spell: the resident may be outside, and
  that is :class:`WanderingDetector`'s case, so the two never alarm for the same absence. The
  spell resumes (deadline from then) at the first indoor activity ``grace_s`` or more after
  the door opened, which is also what ends wandering's watch.

**Wandering** (:class:`WanderingDetector`). The exit door opens during the night window while
no bed or seat is occupied, and no indoor activity follows within ``return_s`` (15 min; 10 for
dementia): ``wandering`` at door + ``return_s``. Activity within ``grace_s`` (1 min) of the
opening does not count: a hall PIR fires as the resident walks out. Further openings during a
watch do not restart it (a door banging in the wind must not push the alarm away). A resident
coming home late is seen by the sensors inside within minutes, which ends the watch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gateway.detect.home_events import HomeAlarm, SensorEvent, SensorKind, format_local

DAY_S = 86400.0
HOUR_S = 3600.0
MIN_S = 60.0

_PERSON_RELEASES = frozenset({SensorKind.BED, SensorKind.SEAT, SensorKind.DOOR})
_RESTING = frozenset({SensorKind.BED, SensorKind.SEAT})


@dataclass(frozen=True, slots=True)
class NightConfig:
    """Parameters in seconds and local hours of day, for one resident.

    ``max_out_s`` and ``return_s`` left at ``None`` take the profile's default: 45 and 15 min,
    or 20 and 10 min with ``dementia``.
    """

    dementia: bool = False
    night_start_h: float = 22.0
    night_end_h: float = 6.0
    max_out_s: float | None = None
    return_s: float | None = None
    debounce_s: float = 1 * MIN_S
    grace_s: float = 1 * MIN_S

    @property
    def bed_exit_limit_s(self) -> float:
        if self.max_out_s is not None:
            return self.max_out_s
        return (20 if self.dementia else 45) * MIN_S

    @property
    def return_limit_s(self) -> float:
        if self.return_s is not None:
            return self.return_s
        return (10 if self.dementia else 15) * MIN_S

    def is_night(self, t: float) -> bool:
        """Whether local time ``t`` lies in the night window (which may wrap midnight)."""
        second = t % DAY_S
        start, end = self.night_start_h * HOUR_S, self.night_end_h * HOUR_S
        if start <= end:
            return start <= second < end
        return second >= start or second < end

    def night_end_after(self, t: float) -> float:
        """The first end of the night window strictly after ``t``."""
        day = math.floor(t / DAY_S) * DAY_S
        end = day + self.night_end_h * HOUR_S
        return end if end > t else end + DAY_S


def is_indoor_activity(event: SensorEvent) -> bool:
    """Whether the event shows somebody inside the home (see the module docstring)."""
    if event.kind is SensorKind.EXIT_DOOR:
        return False
    return event.value == 1 or event.kind in _PERSON_RELEASES


@dataclass(slots=True)
class BedExitSpell:
    """One out-of-bed spell that began at night; times in local seconds."""

    exit: float  # the bed emptied
    free_since: float  # the bed has been empty since (or, while ``back_since``, was)
    day_end: float  # the end of the night window the spell started in
    last_life: float  # last indoor sign of life (the exit itself to begin with)
    active: bool = False  # any sign of life (indoors or the exit door) since the exit
    back_since: float | None = None  # bed occupied again since, not yet confirmed
    door_open: float | None = None  # outside since the exit door opened at this time


@dataclass(slots=True)
class NightBedExitDetector:
    """Out of bed too long at night (module docstring). Its state is its attributes."""

    config: NightConfig = field(default_factory=NightConfig)
    now: float = -math.inf
    beds: set[str] = field(default_factory=set)  # bed devices occupied
    beds_seen: set[str] = field(default_factory=set)
    seats: set[str] = field(default_factory=set)  # seat devices occupied
    spell: BedExitSpell | None = None

    def feed(self, event: SensorEvent) -> list[HomeAlarm]:
        alarms = self.advance(event.time)
        if event.kind is SensorKind.BED:
            self._bed(event)
        elif event.kind is SensorKind.SEAT:
            (self.seats.add if event.value else self.seats.discard)(event.device)
        spell = self.spell
        if spell is not None and event.kind is not SensorKind.BED:
            if event.kind is SensorKind.EXIT_DOOR or is_indoor_activity(event):
                spell.active = True
            if event.kind is SensorKind.EXIT_DOOR and event.value == 1:
                if spell.door_open is None:
                    spell.door_open = event.time
            elif is_indoor_activity(event) and (
                spell.door_open is None or event.time >= spell.door_open + self.config.grace_s
            ):
                spell.door_open = None
                spell.last_life = event.time
        return alarms

    def advance(self, now: float) -> list[HomeAlarm]:
        alarms: list[HomeAlarm] = []
        if now < self.now:
            return alarms
        while self.spell is not None:
            due, action = self._next(self.spell)
            if due > now:
                break
            if action == "alarm":
                alarms.append(self._alarm(self.spell, due))
            self.spell = None
        self.now = now
        return alarms

    def home_empty(self, at: float) -> None:
        """An away period began: the resident is not out of bed in this home."""
        self.spell = None

    def shift(self, by: float) -> None:
        """The wall clock stepped: the spell keeps its real length; the night's end is a
        time of day and stays (``HomeDetector``)."""
        self.now += by
        spell = self.spell
        if spell is not None:
            spell.exit += by
            spell.free_since += by
            spell.last_life += by
            if spell.back_since is not None:
                spell.back_since += by
            if spell.door_open is not None:
                spell.door_open += by

    def _bed(self, event: SensorEvent) -> None:
        spell = self.spell
        if event.value == 1:
            self.beds.add(event.device)
            self.beds_seen.add(event.device)
            if spell is not None and spell.back_since is None:
                spell.back_since = event.time
            return
        # A mat never heard from before may have been occupied: its first release counts.
        was_occupied = bool(self.beds) or event.device not in self.beds_seen
        self.beds_seen.add(event.device)
        self.beds.discard(event.device)
        if self.beds:
            return  # another mat of the bed still feels the resident
        if spell is not None and spell.back_since is not None:
            spell.back_since = None  # a blip shorter than debounce_s: the spell goes on
            spell.free_since = event.time
        elif spell is None and was_occupied and self.config.is_night(event.time):
            self.spell = BedExitSpell(
                exit=event.time,
                free_since=event.time,
                day_end=self.config.night_end_after(event.time),
                last_life=event.time,
            )

    def _next(self, spell: BedExitSpell) -> tuple[float, str]:
        """The spell's next deadline and what happens then: ``end`` quietly or ``alarm``."""
        c = self.config
        ends: list[float] = []
        if spell.back_since is not None:
            ends.append(spell.back_since + c.debounce_s)
        if spell.active:
            ends.append(spell.day_end)
        end = min(ends, default=math.inf)
        if spell.back_since is not None or spell.door_open is not None or self.seats:
            return end, "end"  # in bed, outside, or seated: no alarm can fall due now
        due = max(spell.last_life + c.bed_exit_limit_s, spell.free_since + c.debounce_s)
        # At equal times the quiet ending wins: back in bed / up for the day.
        return (end, "end") if end <= due else (due, "alarm")

    def _alarm(self, spell: BedExitSpell, at: float) -> HomeAlarm:
        return HomeAlarm(
            "night_bed_exit",
            at,
            {
                "bed_exit": format_local(spell.exit),
                "out_of_bed_min": round((at - spell.exit) / MIN_S, 1),
                "last_activity": format_local(spell.last_life),
            },
        )


@dataclass(slots=True)
class WanderingDetector:
    """Exit door at night and nobody back inside (module docstring). State = attributes."""

    config: NightConfig = field(default_factory=NightConfig)
    now: float = -math.inf
    resting: set[str] = field(default_factory=set)  # bed and seat devices occupied
    door_open: float | None = None  # the night opening being watched
    door_device: str = ""

    def feed(self, event: SensorEvent) -> list[HomeAlarm]:
        alarms = self.advance(event.time)
        if event.kind in _RESTING:
            (self.resting.add if event.value else self.resting.discard)(event.device)
        if event.kind is SensorKind.EXIT_DOOR:
            if (
                event.value == 1
                and self.door_open is None
                and not self.resting
                and self.config.is_night(event.time)
            ):
                self.door_open = event.time
                self.door_device = event.device
        elif (
            self.door_open is not None
            and is_indoor_activity(event)
            and event.time >= self.door_open + self.config.grace_s
        ):
            self.door_open = None
        return alarms

    def home_empty(self, at: float) -> None:
        """An away period began: a door opened before it was the resident leaving."""
        self.door_open = None

    def shift(self, by: float) -> None:
        """The wall clock stepped: the watch keeps its real length (``HomeDetector``)."""
        self.now += by
        if self.door_open is not None:
            self.door_open += by

    def advance(self, now: float) -> list[HomeAlarm]:
        if now < self.now:
            return []
        self.now = now
        if self.door_open is None:
            return []
        due = self.door_open + self.config.return_limit_s
        if due > now:
            return []
        opened, self.door_open = self.door_open, None
        detail: dict[str, str | float | int] = {
            "door_opened": format_local(opened),
            "device": self.door_device,
        }
        return [HomeAlarm("wandering", due, detail)]
