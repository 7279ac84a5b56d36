"""care and dispatch: organisations, homes, residents, responders, the alarm lifecycle,
service orders and the audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 13:01:53.047408
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_entity"), ["entity"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("dispatch_settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["organisations.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisations_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "homes",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("area", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("homes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_homes_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "home_gateways",
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("home_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["home_id"], ["homes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("gateway_id"),
    )
    with op.batch_alter_table("home_gateways", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_home_gateways_home_id"), ["home_id"], unique=False)

    op.create_table(
        "residents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("home_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("priority_groups", sa.JSON(), nullable=False),
        sa.Column("assessment_level", sa.Integer(), nullable=True),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("consent_date", sa.Date(), nullable=True),
        sa.Column("preferences", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["home_id"], ["homes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_residents_home_id"), ["home_id"], unique=False)

    op.create_table(
        "responders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("roster", sa.JSON(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("speed_kmh", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("responders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_responders_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_responders_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_responders_resident_id"), ["resident_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_responders_status"), ["status"], unique=False)

    op.create_table(
        "alarm_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responder_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["alarm_id"], ["alarms.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["responder_id"], ["responders.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alarm_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alarm_actions_alarm_id"), ["alarm_id"], unique=False)

    op.create_table(
        "service_orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_id", sa.String(length=32), nullable=True),
        sa.Column("home_id", sa.String(length=200), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("service", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("responder_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["alarm_id"], ["alarms.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["responder_id"], ["responders.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alarm_id"),
    )
    with op.batch_alter_table("service_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_orders_home_id"), ["home_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_service_orders_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_orders_resident_id"), ["resident_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_service_orders_state"), ["state"], unique=False)

    with op.batch_alter_table("alarms", schema=None) as batch_op:
        # Existing alarms enter the lifecycle where their status left them.
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="raised")
        )
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resident_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("responder_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("escalation_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("escalation", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("next_step_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_alarms_escalation_state"), ["escalation_state"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alarms_next_step_at"), ["next_step_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_alarms_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alarms_resident_id"), ["resident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alarms_state"), ["state"], unique=False)
        batch_op.create_foreign_key(
            "fk_alarms_resident_id", "residents", ["resident_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            "fk_alarms_organisation_id",
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            "fk_alarms_responder_id", "responders", ["responder_id"], ["id"], ondelete="SET NULL"
        )
    op.execute("UPDATE alarms SET state = 'acknowledged' WHERE status = 'acknowledged'")


def downgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_constraint("fk_alarms_responder_id", type_="foreignkey")
        batch_op.drop_constraint("fk_alarms_organisation_id", type_="foreignkey")
        batch_op.drop_constraint("fk_alarms_resident_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_alarms_state"))
        batch_op.drop_index(batch_op.f("ix_alarms_resident_id"))
        batch_op.drop_index(batch_op.f("ix_alarms_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_alarms_next_step_at"))
        batch_op.drop_index(batch_op.f("ix_alarms_escalation_state"))
        batch_op.drop_column("next_step_at")
        batch_op.drop_column("escalation")
        batch_op.drop_column("escalation_state")
        batch_op.drop_column("responder_id")
        batch_op.drop_column("resident_id")
        batch_op.drop_column("organisation_id")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("outcome")
        batch_op.drop_column("version")
        batch_op.drop_column("state")

    with op.batch_alter_table("service_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_orders_state"))
        batch_op.drop_index(batch_op.f("ix_service_orders_resident_id"))
        batch_op.drop_index(batch_op.f("ix_service_orders_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_service_orders_home_id"))

    op.drop_table("service_orders")
    with op.batch_alter_table("alarm_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alarm_actions_alarm_id"))

    op.drop_table("alarm_actions")
    with op.batch_alter_table("responders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_responders_status"))
        batch_op.drop_index(batch_op.f("ix_responders_resident_id"))
        batch_op.drop_index(batch_op.f("ix_responders_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_responders_kind"))

    op.drop_table("responders")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_residents_home_id"))

    op.drop_table("residents")
    with op.batch_alter_table("home_gateways", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_home_gateways_home_id"))

    op.drop_table("home_gateways")
    with op.batch_alter_table("homes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_homes_organisation_id"))

    op.drop_table("homes")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_parent_id"))

    op.drop_table("organisations")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_entity"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor"))

    op.drop_table("audit_log")
