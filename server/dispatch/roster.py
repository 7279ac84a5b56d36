"""Weekly on-duty windows: is a responder on duty at a given moment?

A window is ``{"day": 0-6 (Monday=0), "start": "HH:MM", "end": "HH:MM"}`` in the
organisation's local time. A window whose end is not after its start runs past midnight into
the next day (a night shift 22:00-06:00). An empty roster means no fixed hours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def parse_hhmm(text: str) -> time:
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes))


def on_duty(roster: Sequence[Mapping[str, Any]], now: datetime, zone: ZoneInfo) -> bool:
    """True if ``now`` (aware) falls in one of the roster's weekly windows, or it has none."""
    if not roster:
        return True
    local = now.astimezone(zone)
    for window in roster:
        start, end = parse_hhmm(window["start"]), parse_hhmm(window["end"])
        day = int(window["day"])
        # The window may have started today or, when it runs past midnight, yesterday.
        for started_days_ago in (0, 1):
            date = (local - timedelta(days=started_days_ago)).date()
            if date.weekday() != day:
                continue
            opens = datetime.combine(date, start, tzinfo=zone)
            closes = datetime.combine(date, end, tzinfo=zone)
            if closes <= opens:
                closes += timedelta(days=1)
            if opens <= local < closes:
                return True
    return False
