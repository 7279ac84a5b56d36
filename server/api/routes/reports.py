"""Reports per organisation and period (supervisors and admins): JSON, or CSV to download."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import Response

from server.api.deps import Operator, SessionDep, require_role
from server.crud.records import fetch
from server.db.care_models import Organisation
from server.reports.export import report_csv
from server.reports.report import build_report

router = APIRouter(prefix="/reports", tags=["reports"])
# Reports show a whole organisation's performance: not for operators on shift.
Supervisor = Annotated[Operator, Depends(require_role("supervisor", "admin"))]


@router.get("", response_model=None)
def report(
    session: SessionDep,
    _user: Supervisor,
    org: Annotated[int, Query(description="organisation id; those below it are included")],
    start: Annotated[datetime, Query(alias="from", description="period start (inclusive)")],
    end: Annotated[datetime, Query(alias="to", description="period end (exclusive)")],
    format: Literal["json", "csv"] = "json",
) -> dict[str, Any] | Response:
    """Alarms by kind, time to acknowledge (p50, p90, share within 60 s and 180 s), time to
    on scene, false-alarm share, service orders completed, gateway and device availability
    (approximated from offline and silence alarms)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "from and to need a time zone")
    if end <= start:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "to must be after from")
    fetch(session, Organisation, org, "organisation")
    built = build_report(session, org, start, end)
    if format == "csv":
        name = f"report-{org}-{start.date()}-{end.date()}.csv"
        return Response(
            report_csv(built),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return built.to_json()
