"""cloud wearables' possible falls held for their cancel window, kept across restarts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cloud_fall_holds",
        sa.Column("alarm_id", sa.String(length=32), nullable=False),
        sa.Column("wearer", sa.String(length=200), nullable=False),
        sa.Column("alarm", sa.JSON(), nullable=False),
        sa.Column("t_detect", sa.Float(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alarm_id"),
    )
    op.create_index("ix_cloud_fall_holds_wearer", "cloud_fall_holds", ["wearer"])


def downgrade() -> None:
    op.drop_index("ix_cloud_fall_holds_wearer", table_name="cloud_fall_holds")
    op.drop_table("cloud_fall_holds")
