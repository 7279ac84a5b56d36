"""Login and logout for console users and API clients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, HTTPException, Response, status

from server.api.deps import SESSION_COOKIE, CentreDep, CurrentUser, SessionDep
from server.api.schemas import LoginRequest, LoginResponse, UserPublic
from server.crud.users import authenticate, close_session, open_session

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login")
def login(
    body: LoginRequest, response: Response, session: SessionDep, centre: CentreDep
) -> LoginResponse:
    user = authenticate(session, body.username, body.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong username or password")
    ttl = timedelta(seconds=centre.settings.session_ttl_s)
    token = open_session(session, user, datetime.now(UTC), ttl)
    session.commit()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="strict",  # the cookie never rides on another site's request (CSRF)
        secure=centre.settings.environment == "production",
    )
    return LoginResponse(access_token=token, username=user.username, role=user.role)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(user: CurrentUser, response: Response, session: SessionDep) -> None:
    close_session(session, user.token)
    session.commit()
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me")
def me(user: CurrentUser) -> UserPublic:
    return UserPublic(username=user.username, role=user.role)
