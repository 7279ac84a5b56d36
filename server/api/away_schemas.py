"""Request and response bodies of a resident's away periods (``server/api/routes/away.py``).

A period is the wire's :class:`~protocol.home_config.AwayPeriod` (instants with their offset,
ending after they start, at most 92 days, a short note), so what the API accepts is exactly
what a gateway can run; a naive time is refused, since the centre and the home may not share
a time zone.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from protocol.fields import ShortText
from protocol.home_config import MAX_AWAY_PERIODS, AwayPeriod, check_away


class AwayPlan(BaseModel):
    """The resident's planned away periods, replacing those on record."""

    model_config = ConfigDict(extra="forbid")

    periods: list[AwayPeriod] = Field(max_length=MAX_AWAY_PERIODS)

    @field_validator("periods")
    @classmethod
    def _apart(cls, periods: list[AwayPeriod]) -> list[AwayPeriod]:
        ordered = sorted(periods, key=lambda p: p.start)
        check_away(ordered)
        return ordered


class AwayNow(BaseModel):
    """Away from now until ``until`` (replacing the period the home is in, if any)."""

    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime
    note: ShortText = ""


class AwayPublic(BaseModel):
    resident_id: int
    home_id: str
    gateway_ids: list[str]  # the gateways that carry the periods to the home
    periods: list[AwayPeriod]  # still to come or under way, in time order
    away_now: AwayPeriod | None  # the period under way at the centre's clock
