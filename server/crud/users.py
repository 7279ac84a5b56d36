"""Console users and their sessions."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server.core.security import hash_password, new_token, token_digest, verify_password
from server.db.models import ApiSession, User

ROLES = ("operator", "supervisor", "admin")


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def create_user(session: Session, username: str, password: str, role: str, now: datetime) -> User:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    user = User(username=username, password_hash=hash_password(password), role=role, created_at=now)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        # Same cost as a real check, so timing does not reveal which usernames exist.
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None


def open_session(session: Session, user: User, now: datetime, ttl: timedelta) -> str:
    token = new_token()
    session.add(ApiSession(token_hash=token_digest(token), user_id=user.id, expires_at=now + ttl))
    return token


def user_for_token(session: Session, token: str, now: datetime) -> User | None:
    row = session.get(ApiSession, token_digest(token))
    if row is None or row.expires_at <= now:
        return None
    return session.get(User, row.user_id)


def close_session(session: Session, token: str) -> None:
    session.execute(delete(ApiSession).where(ApiSession.token_hash == token_digest(token)))


_DUMMY_HASH = hash_password("not-a-real-password")
