"""Accounts on the wire: what an admin sends to create or change one, and what comes back.
A password goes in, never out; only its argon2 hash is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["operator", "supervisor", "admin", "responder", "family", "installer"]
Username = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]
# Long enough to resist guessing at the login's rate limit; capped so hashing stays cheap.
Password = Annotated[str, Field(min_length=10, max_length=256)]
RecordId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class UserCreate(BaseModel):
    """``responder_id`` binds a responder account, ``resident_id`` a family account."""

    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    role: Role
    responder_id: RecordId | None = None
    resident_id: RecordId | None = None


class UserUpdate(BaseModel):
    """Only the fields sent change. A new password, a new role or ``active: false`` ends the
    account's sessions."""

    model_config = ConfigDict(extra="forbid")

    password: Password | None = None
    role: Role | None = None
    active: bool | None = None
    responder_id: RecordId | None = None
    resident_id: RecordId | None = None


class UserAccount(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: str
    active: bool
    responder_id: int | None
    resident_id: int | None
    created_at: datetime
