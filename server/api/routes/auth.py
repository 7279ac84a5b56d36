"""Login and logout for console users and API clients.

Logins are rate-limited per username and per client address (``LoginLimit``): past the limit
the answer is 429 with ``Retry-After``, without checking the password. The client address is
the TCP peer: behind a reverse proxy, run uvicorn with ``--proxy-headers`` and
``--forwarded-allow-ips`` for the proxy, or every client shares the proxy's count.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status

from server.api.deps import SESSION_COOKIE, CentreDep, CurrentUser, Now, SessionDep
from server.api.permissions import GRANTS
from server.api.schemas import LoginRequest, LoginResponse, UserPublic
from server.crud.login_failures import LoginLimit
from server.crud.users import authenticate, close_session, open_session

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login",
    responses={
        401: {"description": "wrong username or password"},
        429: {"description": "too many failed logins; see Retry-After"},
    },
)
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    centre: CentreDep,
    now: Now,
) -> LoginResponse:
    settings = centre.settings
    limit = LoginLimit(settings.login_max_failures, timedelta(seconds=settings.login_window_s))
    client = request.client.host if request.client else "unknown"
    wait = limit.retry_after(session, body.username, client, now)
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many failed logins; try again later",
            headers={"Retry-After": str(wait)},
        )
    user = authenticate(session, body.username, body.password)
    if user is None:
        limit.failed(session, body.username, client, now)
        session.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong username or password")
    limit.succeeded(session, body.username)
    ttl = timedelta(seconds=settings.session_ttl_s)
    token = open_session(session, user, now, ttl)
    session.commit()
    over_https = settings.environment == "production" or settings.tls_certfile is not None
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="strict",  # the cookie never rides on another site's request (CSRF)
        secure=over_https,
    )
    return LoginResponse(access_token=token, username=user.username, role=user.role)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(user: CurrentUser, response: Response, session: SessionDep) -> None:
    close_session(session, user.token)
    session.commit()
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me")
def me(user: CurrentUser) -> UserPublic:
    return UserPublic(
        username=user.username,
        role=user.role,
        responder_id=user.responder_id,
        resident_id=user.resident_id,
        permissions=sorted(GRANTS.get(user.role, frozenset())),
    )
