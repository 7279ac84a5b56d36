"""accounts for responders and family members, the settings admin token, login failures

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("responder_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resident_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_responder_id"), ["responder_id"])
        batch_op.create_index(batch_op.f("ix_users_resident_id"), ["resident_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_users_responder_id_responders",
            "responders",
            ["responder_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            "fk_users_resident_id_residents",
            "residents",
            ["resident_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("api_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_sessions_origin"), ["origin"], unique=False)

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_client"), ["client"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_username"), ["username"], unique=False)


def downgrade() -> None:
    op.drop_table("login_failures")
    with op.batch_alter_table("api_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_sessions_origin"))
        batch_op.drop_column("origin")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("fk_users_resident_id_residents", type_="foreignkey")
        batch_op.drop_constraint("fk_users_responder_id_responders", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_users_resident_id"))
        batch_op.drop_constraint(batch_op.f("uq_users_responder_id"), type_="unique")
        batch_op.drop_column("resident_id")
        batch_op.drop_column("responder_id")
        batch_op.drop_column("active")
