"""the care record's part of the pushed home configuration: a resident's daily check-in time,
and the installer's entry kept apart from the configuration pushed

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkin_due", sa.String(length=5), nullable=True))
    with op.batch_alter_table("gateway_registrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("config_entered", sa.JSON(), nullable=True))
    # Until now the entry was stored as pushed: the best record there is of what was entered.
    op.execute("UPDATE gateway_registrations SET config_entered = config")


def downgrade() -> None:
    with op.batch_alter_table("gateway_registrations", schema=None) as batch_op:
        batch_op.drop_column("config_entered")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("checkin_due")
