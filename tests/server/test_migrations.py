"""Migrations: the schema they build is the models' schema, on SQLite and PostgreSQL, and
alarms stored before the lifecycle existed enter it where their status left them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from server.centre import Centre
from server.db.engine import MIGRATIONS, make_engine
from server.db.models import Base


def test_migrated_schema_matches_the_models(store_centre: Centre) -> None:
    with store_centre.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_alarms_from_before_the_lifecycle_keep_their_status(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    columns = "id, gateway_id, home_id, kind, priority, gateway_time, received_at, status, message"
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        for alarm_id, status in (("a" * 32, "open"), ("b" * 32, "acknowledged")):
            connection.execute(
                text(
                    f"INSERT INTO alarms ({columns}) VALUES (:id, 'gw', 'h', 'fall', 0,"
                    " '2026-01-01', '2026-01-01', :status, '{}')"
                ),
                {"id": alarm_id, "status": status},
            )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        rows = connection.execute(text("SELECT id, status, state, version FROM alarms ORDER BY id"))
        assert [tuple(r) for r in rows] == [
            ("a" * 32, "open", "raised", 1),
            ("b" * 32, "acknowledged", "acknowledged", 1),
        ]
    engine.dispose()


def test_notification_tables_go_down_and_up_again(tmp_path: Path, store_url: str | None) -> None:
    """0005 reverts cleanly to 0004 (its tables gone, the rest kept) and applies again."""
    engine = make_engine(store_url or f"sqlite:///{tmp_path / 'notify.sqlite3'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    notify_tables = {"notification_channels", "notification_deliveries"}
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        assert notify_tables <= set(inspect(connection).get_table_names())
        command.downgrade(config, "0004")
        left = set(inspect(connection).get_table_names())
        assert not notify_tables & left
        assert {"alarms", "responders", "gateway_registrations"} <= left
        command.upgrade(config, "head")
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
    engine.dispose()
