"""FastAPI dependencies as ``Annotated`` aliases: the centre, a DB session, the current user."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from server.centre import Centre
from server.crud.users import user_for_token

SESSION_COOKIE = "eldercare_session"


def get_centre(request: Request) -> Centre:
    centre: Centre = request.app.state.centre
    return centre


CentreDep = Annotated[Centre, Depends(get_centre)]


def get_session(centre: CentreDep) -> Iterator[Session]:
    with centre.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def commit_then(session: Session, after: Iterable[Callable[[], None]]) -> None:
    """Commit, then run what must only happen once the change is stored (live events,
    notifications)."""
    session.commit()
    for action in after:
        action()


@dataclass(frozen=True)
class Operator:
    """The authenticated console user (detached from any DB session)."""

    id: int
    username: str
    role: str
    token: str
    # The record a scoped role is bound to (server/api/permissions.py); None otherwise.
    responder_id: int | None = None
    resident_id: int | None = None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    token = request.cookies.get(SESSION_COOKIE)
    if token and request.method not in SAFE_METHODS and not _same_origin(request):
        # The cookie rides along on requests other pages make; SameSite=Strict stops other
        # sites, not another port or subdomain of the same site. A cookie-authenticated
        # change must come from our own origin (browsers send Origin on every POST).
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="cross-origin request refused")
    return token


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return False
    parsed = urlsplit(origin)
    return f"{parsed.scheme}://{parsed.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


def current_user(request: Request, centre: CentreDep) -> Operator:
    """Resolve the bearer token or session cookie; its own short DB session, so a long-lived
    request (the live stream) holds no connection."""
    token = _token(request)
    if token:
        with centre.sessions() as session:
            user = user_for_token(session, token, datetime.now(UTC))
            if user is not None:
                return Operator(
                    user.id, user.username, user.role, token, user.responder_id, user.resident_id
                )
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="not authenticated",
        headers={"WWW-Authenticate": "Bearer"},
    )


CurrentUser = Annotated[Operator, Depends(current_user)]


def current_time() -> datetime:
    """The request's clock; tests override this dependency to move time without sleeping."""
    return datetime.now(UTC)


Now = Annotated[datetime, Depends(current_time)]


def require_role(*roles: str) -> Callable[[Operator], Operator]:
    def check(user: CurrentUser) -> Operator:
        if user.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"needs role {' or '.join(roles)}"
            )
        return user

    return check
