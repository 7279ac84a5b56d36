"""gateway registrations: broker accounts issued by the centre and the home configuration
pushed to each gateway

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_registrations",
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("home_id", sa.String(length=200), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("credentials_issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("config", sa.JSON(), nullable=True),
        sa.Column("config_revision", sa.Integer(), nullable=False),
        sa.Column("config_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["home_id"], ["homes.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("gateway_id"),
    )
    with op.batch_alter_table("gateway_registrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gateway_registrations_home_id"), ["home_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("gateway_registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_registrations_home_id"))
    op.drop_table("gateway_registrations")
