"""Accounts and their sessions (logins and the settings admin token).

A role either sees the whole centre or is bound to one record: ``LINKS`` says which column
binds a scoped role; every account of that role has it set, and no other account has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server import ConfigurationError, Conflict
from server.core.security import (
    hash_password,
    new_password,
    new_token,
    token_digest,
    verify_password,
)
from server.crud import audit
from server.crud.records import fetch, flush
from server.db.care_models import Resident, Responder
from server.db.models import ApiSession, User

ROLES = ("operator", "supervisor", "admin", "responder", "family", "installer")
LINKS = {"responder": "responder_id", "family": "resident_id"}
SETTINGS_ORIGIN = "settings"
# The settings token never expires by itself; it is replaced when the setting changes.
_NEVER = datetime(9999, 12, 31, tzinfo=UTC)


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    now: datetime,
    *,
    responder_id: int | None = None,
    resident_id: int | None = None,
) -> User:
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        created_at=now,
        active=True,
        responder_id=responder_id,
        resident_id=resident_id,
    )
    check_links(session, user)
    session.add(user)
    flush(session, f"user {username!r} already exists or its responder has an account")
    return user


def update_user(
    session: Session, user: User, changes: Mapping[str, Any], actor: str, now: datetime
) -> User:
    """Apply ``changes`` (role, links, active, password); a new password, a disabled account
    or a changed role ends the account's sessions. The audit names fields, never values."""
    values = dict(changes)
    if "password" in values:
        values["password_hash"] = hash_password(values.pop("password"))
    changed = sorted(k for k, v in values.items() if getattr(user, k) != v)
    for name in changed:
        setattr(user, name, values[name])
    check_links(session, user)
    flush(session, "that responder already has an account")
    if _admins_left(session) == 0:
        raise Conflict("the centre would be left without an active admin")
    if {"password_hash", "active", "role"} & set(changed):
        session.execute(
            delete(ApiSession).where(ApiSession.user_id == user.id, ApiSession.origin.is_(None))
        )
    if changed:
        audit.record(session, actor, "update", "user", user.id, now, {"fields": changed})
    return user


def check_links(session: Session, user: User) -> None:
    """A scoped role is bound to its record (which must exist); other roles to none."""
    if user.role not in ROLES:
        raise Conflict(f"unknown role {user.role!r}")
    for role, column in LINKS.items():
        value = getattr(user, column)
        if user.role == role and value is None:
            raise Conflict(f"a {role} account needs {column}")
        if user.role != role and value is not None:
            raise Conflict(f"{column} is only for a {role} account")
    if user.responder_id is not None:
        fetch(session, Responder, user.responder_id, "responder")
    if user.resident_id is not None:
        fetch(session, Resident, user.resident_id, "resident")


def _admins_left(session: Session) -> int:
    query = select(func.count()).where(User.role == "admin", User.active.is_(True))
    return int(session.scalar(query) or 0)


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
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
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def close_session(session: Session, token: str) -> None:
    """Log out. The settings token stays: it belongs to the configuration, and logging out
    with it (as any client may) must not lock automation out until the next restart."""
    session.execute(
        delete(ApiSession).where(
            ApiSession.token_hash == token_digest(token), ApiSession.origin.is_(None)
        )
    )


def install_settings_token(
    session: Session, token: str | None, username: str, now: datetime
) -> bool:
    """Make ``token`` (``SERVER_ADMIN_TOKEN``) the one settings token, held by the admin
    account ``username`` (created without a usable password if missing). ``None`` removes
    it. Idempotent; True if anything changed. Only its digest is stored, like any session."""
    current = list(session.scalars(select(ApiSession).where(ApiSession.origin == SETTINGS_ORIGIN)))
    if token is None:
        for row in current:
            session.delete(row)
        return bool(current)
    holder = session.scalars(select(User).where(User.username == username)).first()
    if holder is None:
        # Nobody knows this password: the account is only ever used through the token.
        holder = create_user(session, username, new_password(), "admin", now)
    if holder.role != "admin" or not holder.active:
        raise ConfigurationError(f"the admin token's account {username!r} is not an active admin")
    digest = token_digest(token)
    if [(r.token_hash, r.user_id) for r in current] == [(digest, holder.id)]:
        return False
    for row in current:
        session.delete(row)
    session.execute(delete(ApiSession).where(ApiSession.token_hash == digest))
    session.flush()
    session.add(
        ApiSession(token_hash=digest, user_id=holder.id, expires_at=_NEVER, origin=SETTINGS_ORIGIN)
    )
    session.flush()
    return True


_DUMMY_HASH = hash_password("not-a-real-password")
