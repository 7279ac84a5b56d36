"""Who may do what: one table from role to permissions, checked by one dependency.

Routes ask for a permission (``Allowed[Permission.HANDLE_ALARMS]`` style aliases below), never
for a role, so a new role (responder, family member) is a new row here; a check that also
depends on the record (a family member sees only their own resident) belongs in
``authorise`` too, with the record passed in.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, status

from server.api.deps import CurrentUser, Operator


class Permission(StrEnum):
    READ_ALARMS = "read_alarms"
    HANDLE_ALARMS = "handle_alarms"  # acknowledge, dispatch, resolve, notes
    REPORT_PROGRESS = "report_progress"  # accept, decline, en route, on scene
    READ_CARE_RECORDS = "read_care_records"  # residents, homes, responders, organisations
    MANAGE_CARE_RECORDS = "manage_care_records"
    HANDLE_SERVICE_ORDERS = "handle_service_orders"
    READ_AUDIT = "read_audit"


_OPERATOR = frozenset(
    {
        Permission.READ_ALARMS,
        Permission.HANDLE_ALARMS,
        Permission.REPORT_PROGRESS,  # on a responder's behalf, until responders log in
        Permission.READ_CARE_RECORDS,
        Permission.HANDLE_SERVICE_ORDERS,
    }
)
_SUPERVISOR = _OPERATOR | {Permission.MANAGE_CARE_RECORDS, Permission.READ_AUDIT}
GRANTS: dict[str, frozenset[Permission]] = {
    "operator": _OPERATOR,
    "supervisor": _SUPERVISOR,
    "admin": frozenset(Permission),
}


def authorise(user: Operator, permission: Permission) -> None:
    if permission not in GRANTS.get(user.role, frozenset()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"not allowed to {permission.value}")


def _requires(permission: Permission) -> object:
    def check(user: CurrentUser) -> Operator:
        authorise(user, permission)
        return user

    return Depends(check)


ReadAlarms = Annotated[Operator, _requires(Permission.READ_ALARMS)]
HandleAlarms = Annotated[Operator, _requires(Permission.HANDLE_ALARMS)]
ReportProgress = Annotated[Operator, _requires(Permission.REPORT_PROGRESS)]
ReadCareRecords = Annotated[Operator, _requires(Permission.READ_CARE_RECORDS)]
ManageCareRecords = Annotated[Operator, _requires(Permission.MANAGE_CARE_RECORDS)]
HandleServiceOrders = Annotated[Operator, _requires(Permission.HANDLE_SERVICE_ORDERS)]
ReadAudit = Annotated[Operator, _requires(Permission.READ_AUDIT)]
