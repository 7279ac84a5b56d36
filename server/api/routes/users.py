"""Accounts, managed by an admin: create with a role (and the record a responder or family
account is bound to), list, read, change. Every change is in the audit log."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select

from server.api.care_schemas import Page
from server.api.deps import Now, SessionDep
from server.api.pagination import Limit, Offset
from server.api.permissions import ManageUsers
from server.api.user_schemas import UserAccount, UserCreate, UserUpdate
from server.crud import audit, records, users
from server.db.models import User

router = APIRouter(prefix="/users", tags=["users"])
ENTITY = "user"


@router.get("")
def list_users(
    session: SessionDep, _user: ManageUsers, limit: Limit = 100, offset: Offset = 0
) -> Page[UserAccount]:
    rows, total = records.page(session, select(User).order_by(User.id), limit, offset)
    items = [UserAccount.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, session: SessionDep, user: ManageUsers, now: Now) -> UserAccount:
    row = users.create_user(
        session,
        body.username,
        body.password,
        body.role,
        now,
        responder_id=body.responder_id,
        resident_id=body.resident_id,
    )
    audit.record(session, user.username, "create", ENTITY, row.id, now, {"role": row.role})
    session.commit()
    return UserAccount.model_validate(row)


@router.get("/{user_id}")
def get_user(user_id: int, session: SessionDep, _user: ManageUsers) -> UserAccount:
    return UserAccount.model_validate(records.fetch(session, User, user_id, ENTITY))


@router.patch("/{user_id}")
def update_user(
    user_id: int, body: UserUpdate, session: SessionDep, user: ManageUsers, now: Now
) -> UserAccount:
    """Changing the role to or from a scoped one means sending the new link with it (or
    ``null`` for the old one): the account is checked as a whole after the change."""
    row = records.fetch(session, User, user_id, ENTITY)
    changes = body.model_dump(exclude_unset=True)
    for required in ("password", "role", "active"):
        if required in changes and changes[required] is None:
            del changes[required]  # null means "leave as is" for these; links may be cleared
    users.update_user(session, row, changes, user.username, now)
    session.commit()
    return UserAccount.model_validate(row)
