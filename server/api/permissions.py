"""Who may do what: one table from role to permissions, checked by one dependency, and the
record-level scope of the roles bound to one record.

Routes ask for a permission (``Allowed[Permission.HANDLE_ALARMS]`` style aliases below), never
for a role, so a new role is a new row here. Two roles are *scoped*: what they are granted
applies only to their own records, checked with the record in hand (``server/api/scopes.py``):

- ``responder``: a user bound to one responder; alarms dispatched to that responder.
- ``family``: a user bound to one resident; that resident's record and alarms.

Out of scope is answered 404, exactly as for a record that does not exist: a 403 would tell a
family member which resident ids are real (and so how many people the centre cares for).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, status

from server.api.deps import CurrentUser, Operator
from server.crud.users import LINKS, ROLES


class Permission(StrEnum):
    READ_ALARMS = "read_alarms"  # scoped roles: their own alarms
    HANDLE_ALARMS = "handle_alarms"  # acknowledge, dispatch, notes, cancel escalation
    REPORT_PROGRESS = "report_progress"  # accept, decline, en route, on scene, own status
    RESOLVE_ALARMS = "resolve_alarms"
    READ_VISIT = "read_visit"  # the little a responder needs to get to the resident
    READ_RESIDENT = "read_resident"  # one resident's record (family: their own)
    READ_CARE_RECORDS = "read_care_records"  # residents, homes, responders, organisations
    MANAGE_CARE_RECORDS = "manage_care_records"
    HANDLE_SERVICE_ORDERS = "handle_service_orders"
    WATCH_CENTRE = "watch_centre"  # live stream, gateways, device events, telemetry charts
    READ_AUDIT = "read_audit"
    MANAGE_USERS = "manage_users"
    PROVISION_GATEWAYS = "provision_gateways"  # broker credentials and home configurations
    SET_AWAY = "set_away"  # a resident's holidays and "away now" (family: their own)
    READ_NOTIFICATIONS = "read_notifications"  # responders' channels (no secrets), deliveries
    MANAGE_NOTIFICATIONS = "manage_notifications"  # channels: URLs and secrets of providers


_OPERATOR = frozenset(
    {
        Permission.READ_ALARMS,
        Permission.HANDLE_ALARMS,
        Permission.REPORT_PROGRESS,  # on a responder's behalf (phoned in)
        Permission.RESOLVE_ALARMS,
        Permission.READ_VISIT,
        Permission.READ_RESIDENT,
        Permission.READ_CARE_RECORDS,
        Permission.HANDLE_SERVICE_ORDERS,
        Permission.WATCH_CENTRE,
        Permission.SET_AWAY,  # the resident phones: "I'm at my daughter's until Sunday"
    }
)
_SUPERVISOR = _OPERATOR | {
    Permission.MANAGE_CARE_RECORDS,
    Permission.READ_AUDIT,
    Permission.PROVISION_GATEWAYS,
    Permission.READ_NOTIFICATIONS,
}
# Sets up homes' gateways: finds the home, registers the gateway, configures its devices.
_INSTALLER = frozenset({Permission.READ_CARE_RECORDS, Permission.PROVISION_GATEWAYS})
_RESPONDER = frozenset(
    {
        Permission.READ_ALARMS,
        Permission.REPORT_PROGRESS,
        Permission.RESOLVE_ALARMS,
        Permission.READ_VISIT,
    }
)
_FAMILY = frozenset({Permission.READ_ALARMS, Permission.READ_RESIDENT, Permission.SET_AWAY})
GRANTS: dict[str, frozenset[Permission]] = {
    "operator": _OPERATOR,
    "supervisor": _SUPERVISOR,
    "admin": frozenset(Permission),
    "responder": _RESPONDER,
    "family": _FAMILY,
    "installer": _INSTALLER,
}
assert set(GRANTS) == set(ROLES), "every role has one row in GRANTS"


def authorise(user: Operator, permission: Permission) -> None:
    if permission not in GRANTS.get(user.role, frozenset()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"not allowed to {permission.value}")


def is_scoped(user: Operator) -> bool:
    """Bound to one record (``LINKS``): grants reach only that record."""
    return user.role in LINKS


def _requires(permission: Permission) -> object:
    def check(user: CurrentUser) -> Operator:
        authorise(user, permission)
        return user

    return Depends(check)


ReadAlarms = Annotated[Operator, _requires(Permission.READ_ALARMS)]
HandleAlarms = Annotated[Operator, _requires(Permission.HANDLE_ALARMS)]
ReportProgress = Annotated[Operator, _requires(Permission.REPORT_PROGRESS)]
ResolveAlarms = Annotated[Operator, _requires(Permission.RESOLVE_ALARMS)]
ReadVisit = Annotated[Operator, _requires(Permission.READ_VISIT)]
ReadResident = Annotated[Operator, _requires(Permission.READ_RESIDENT)]
ReadCareRecords = Annotated[Operator, _requires(Permission.READ_CARE_RECORDS)]
ManageCareRecords = Annotated[Operator, _requires(Permission.MANAGE_CARE_RECORDS)]
HandleServiceOrders = Annotated[Operator, _requires(Permission.HANDLE_SERVICE_ORDERS)]
WatchCentre = Annotated[Operator, _requires(Permission.WATCH_CENTRE)]
ReadAudit = Annotated[Operator, _requires(Permission.READ_AUDIT)]
ManageUsers = Annotated[Operator, _requires(Permission.MANAGE_USERS)]
ProvisionGateways = Annotated[Operator, _requires(Permission.PROVISION_GATEWAYS)]
SetAway = Annotated[Operator, _requires(Permission.SET_AWAY)]
ReadNotifications = Annotated[Operator, _requires(Permission.READ_NOTIFICATIONS)]
ManageNotifications = Annotated[Operator, _requires(Permission.MANAGE_NOTIFICATIONS)]
