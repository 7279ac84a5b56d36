"""A centre in a temporary directory, migrated, without a broker: on SQLite, or on both
SQLite and the session's real PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from onebox.postgres import PostgresCluster
from server.centre import Centre
from server.core.config import ServerSettings
from server.db.engine import migrate


@pytest.fixture
def centre(tmp_path: Path) -> Iterator[Centre]:
    built = Centre(ServerSettings(data_dir=tmp_path, mqtt_enabled=False, admin_password="x"))
    migrate(built.engine)
    yield built
    built.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """The store to run on: None for the default SQLite file, or a fresh PostgreSQL database
    on the session's real cluster."""
    if request.param == "sqlite":
        return None
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database(f"server_{secrets.token_hex(4)}")


@pytest.fixture
def store_centre(tmp_path: Path, store_url: str | None) -> Iterator[Centre]:
    """Like ``centre``, on SQLite and on PostgreSQL."""
    built = Centre(
        ServerSettings(
            data_dir=tmp_path, mqtt_enabled=False, admin_password="x", database_url=store_url
        )
    )
    migrate(built.engine)
    yield built
    built.stop()
