"""One report: an organisation (and those below it) over [start, end)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from protocol import AlarmKind
from server.reports import facts
from server.reports.metrics import (
    AnswerTimes,
    Availability,
    Times,
    answer_times,
    availability,
    by_kind,
    false_alarm_share,
    on_scene_times,
)


@dataclass(frozen=True)
class Report:
    organisation_id: int
    start: datetime
    end: datetime
    alarms: int
    alarms_by_kind: dict[str, int]
    time_to_acknowledge: AnswerTimes
    time_to_on_scene: Times
    false_alarm_share: float | None
    service_orders_completed: int
    gateway_availability: Availability
    device_availability: Availability

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        return data


def build_report(session: Session, organisation_id: int, start: datetime, end: datetime) -> Report:
    scope = facts.organisation_scope(session, organisation_id)
    alarms = facts.alarm_facts(session, scope, start, end)
    gateways = facts.gateways_in(session, scope)
    gateway_down = facts.outages(session, gateways, AlarmKind.GATEWAY_OFFLINE, start, end)
    device_down = facts.outages(session, gateways, AlarmKind.DEVICE_SILENT, start, end)
    devices = facts.devices_of(session, gateways) | {o.source for o in device_down}
    return Report(
        organisation_id=organisation_id,
        start=start,
        end=end,
        alarms=len(alarms),
        alarms_by_kind=by_kind(alarms),
        time_to_acknowledge=answer_times(alarms),
        time_to_on_scene=on_scene_times(alarms),
        false_alarm_share=false_alarm_share(alarms),
        service_orders_completed=facts.service_orders_completed(session, scope, start, end),
        gateway_availability=availability(gateway_down, len(gateways), start, end),
        device_availability=availability(device_down, len(devices), start, end),
    )
