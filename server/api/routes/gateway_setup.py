"""Provisioning a home's gateway: register it (its broker credentials, shown once), rotate or
revoke them, and set the home configuration the centre pushes to it."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Response, status

from server.api.deps import CentreDep, SessionDep
from server.api.permissions import ProvisionGateways
from server.api.provisioning_schemas import (
    ConfigReport,
    GatewayCredentials,
    GatewayRegister,
    GatewaySetup,
    HomeConfigUpdate,
)
from server.centre import Centre
from server.crud import provisioning
from server.db.provisioning_models import GatewayRegistration
from server.provisioning import BrokerAccountError
from server.provisioning.accounts import BrokerAccounts

router = APIRouter(prefix="/gateways", tags=["provisioning"])
PASSWORD_BYTES = 32  # 256 bits, as 43 URL-safe characters


def _accounts(centre: Centre) -> BrokerAccounts:
    if centre.accounts is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="this centre issues no broker credentials (SERVER_MOSQUITTO_PASSWORD_FILE)",
        )
    return centre.accounts


def _issue(accounts: BrokerAccounts, row: GatewayRegistration) -> GatewayCredentials:
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    try:
        accounts.set_password(row.gateway_id, password)
    except BrokerAccountError as err:  # the transaction is not committed: nothing changed
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(err)) from err
    return GatewayCredentials(
        gateway_id=row.gateway_id,
        home_id=row.home_id,
        username=row.gateway_id,
        password=password,
        issued_at=row.credentials_issued_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def register_gateway(
    body: GatewayRegister, session: SessionDep, centre: CentreDep, user: ProvisionGateways
) -> GatewayCredentials:
    """Register a gateway for a home and issue its broker credentials. The password is in
    this answer only: the centre keeps no copy."""
    accounts = _accounts(centre)
    row = provisioning.register(
        session, body.gateway_id, body.home_id, user.username, datetime.now(UTC)
    )
    credentials = _issue(accounts, row)
    session.commit()
    centre.configs.publish(row.gateway_id)  # a configuration kept from before a revocation
    return credentials


@router.post("/{gateway_id}/credentials")
def rotate_credentials(
    gateway_id: str, session: SessionDep, centre: CentreDep, user: ProvisionGateways
) -> GatewayCredentials:
    """A new password; the old one stops working at once."""
    accounts = _accounts(centre)
    row = provisioning.rotate(session, gateway_id, user.username, datetime.now(UTC))
    credentials = _issue(accounts, row)
    session.commit()
    return credentials


@router.delete("/{gateway_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_gateway(
    gateway_id: str, session: SessionDep, centre: CentreDep, user: ProvisionGateways
) -> Response:
    """Delete the gateway's broker account (connected, it is cut off) and its retained
    configuration. Its alarms stay, and so does the count of its configuration revisions."""
    accounts = _accounts(centre)
    provisioning.revoke(session, gateway_id, user.username, datetime.now(UTC))
    try:
        accounts.remove(gateway_id)
    except BrokerAccountError as err:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(err)) from err
    session.commit()
    centre.configs.clear(gateway_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{gateway_id}/config")
def set_config(
    gateway_id: str,
    body: HomeConfigUpdate,
    session: SessionDep,
    centre: CentreDep,
    user: ProvisionGateways,
) -> GatewaySetup:
    """Store the home's configuration as the gateway's next revision and push it (retained,
    so an offline gateway gets it on reconnecting). ``published_revision`` says whether the
    broker has it yet; the gateway's answer appears in ``last_report``."""
    row = provisioning.active(session, gateway_id)
    provisioning.set_config(
        session, gateway_id, body.for_home(row.home_id), user.username, datetime.now(UTC)
    )
    session.commit()
    centre.configs.publish(gateway_id)
    session.expire_all()
    return _setup(session, gateway_id)


@router.get("/{gateway_id}/config")
def get_config(gateway_id: str, session: SessionDep, _user: ProvisionGateways) -> GatewaySetup:
    return _setup(session, gateway_id)


def _setup(session: SessionDep, gateway_id: str) -> GatewaySetup:
    row = session.get(GatewayRegistration, gateway_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"gateway {gateway_id} not found")
    report = provisioning.last_report(session, gateway_id)
    return GatewaySetup(
        gateway_id=row.gateway_id,
        home_id=row.home_id,
        registered_at=row.registered_at,
        credentials_issued_at=row.credentials_issued_at,
        revoked_at=row.revoked_at,
        revision=row.config_revision,
        published_revision=row.published_revision,
        config=row.config,
        last_report=ConfigReport(kind=report.kind, at=report.gateway_time, detail=report.detail)
        if report is not None
        else None,
    )
