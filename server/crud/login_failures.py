"""Failed logins, counted per username and per client address, in SQL.

In SQL rather than in memory so every server process on one database counts the same
failures: with an in-process counter, N processes would allow N times the limit. Two
attempts racing in different processes may each pass the check before either failure is
stored, so under concurrency a few more than the limit can get through; the limit still
holds to within the number of concurrent requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server.db.models import LoginFailure

_TEXT = 64  # column width of username and client


@dataclass(frozen=True)
class LoginLimit:
    """At most ``max_failures`` failed logins per username, and per client address, within
    ``window``; past that, further attempts are refused unseen until the oldest ages out."""

    max_failures: int
    window: timedelta

    def retry_after(self, session: Session, username: str, client: str, now: datetime) -> int:
        """Seconds until an attempt may be made; 0 if one may be made now."""
        since = now - self.window
        waits = [0.0]
        for column, value in (
            (LoginFailure.username, username[:_TEXT]),
            (LoginFailure.client, client[:_TEXT]),
        ):
            recent = (
                select(LoginFailure.at)
                .where(column == value, LoginFailure.at > since)
                .order_by(LoginFailure.at.desc())
                .limit(self.max_failures)
            )
            times = list(session.scalars(recent))
            if len(times) >= self.max_failures:
                # The oldest of the last max_failures leaves the window first.
                waits.append((times[-1] + self.window - now).total_seconds())
        return max(0, math.ceil(max(waits)))

    def failed(self, session: Session, username: str, client: str, now: datetime) -> None:
        """Count a failure, and forget failures older than the window (keeps the table small)."""
        session.execute(delete(LoginFailure).where(LoginFailure.at <= now - self.window))
        session.add(LoginFailure(at=now, username=username[:_TEXT], client=client[:_TEXT]))

    def succeeded(self, session: Session, username: str) -> None:
        """A correct password clears the username's count (not the address's: one good
        account must not reset an address that is guessing at others)."""
        session.execute(delete(LoginFailure).where(LoginFailure.username == username[:_TEXT]))


def count_failures(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(LoginFailure)) or 0)
