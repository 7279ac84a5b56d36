"""webhook secrets encrypted at rest with SERVER_SECRET_KEY, and a check value for the key

The check value stops a process started with another key (server/notify/secret_box.py).
The key is handed over by the server (``migrate(engine, secrets=...)``, which puts it in the
Alembic config's attributes): it never lives in the database. Secrets stored in plain text
before this revision are sealed here; without a key that is refused rather than skipped.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 18:40:00.000000
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = sa.table(
    "notification_channels", sa.column("id", sa.Integer()), sa.column("secret", sa.String())
)


def upgrade() -> None:
    # Refused before any change: SQLite does not roll back the table rebuilds below.
    rewrite = _rewrite(lambda box: box.seal)
    with op.batch_alter_table("notification_channels") as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(256), type_=sa.String(2048), existing_nullable=True
        )
    with op.batch_alter_table("notification_channels_version") as batch_op:
        batch_op.add_column(sa.Column("key_check", sa.String(512), nullable=True))
    rewrite()


def downgrade() -> None:
    _rewrite(lambda box: box.open)()
    with op.batch_alter_table("notification_channels_version") as batch_op:
        batch_op.drop_column("key_check")
    with op.batch_alter_table("notification_channels") as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(2048), type_=sa.String(256), existing_nullable=True
        )


def _rewrite(how: Callable[[Any], Callable[[str], str]]) -> Callable[[], None]:
    """Every stored secret put through ``how(box)``; raises at once if there are secrets
    and no key was handed over."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(CHANNELS.c.id, CHANNELS.c.secret).where(CHANNELS.c.secret.is_not(None))
    ).all()
    box = context.config.attributes.get("secrets")
    if rows and box is None:
        raise RuntimeError("webhook secrets are stored: migrating them needs SERVER_SECRET_KEY")

    def run() -> None:
        for channel_id, secret in rows:
            bind.execute(
                sa.update(CHANNELS)
                .where(CHANNELS.c.id == channel_id)
                .values(secret=how(box)(secret))
            )

    return run
