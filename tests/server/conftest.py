"""A centre on SQLite in a temporary directory, migrated, without a broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.centre import Centre
from server.core.config import ServerSettings
from server.db.engine import migrate


@pytest.fixture
def centre(tmp_path: Path) -> Iterator[Centre]:
    built = Centre(ServerSettings(data_dir=tmp_path, mqtt_enabled=False, admin_password="x"))
    migrate(built.engine)
    yield built
    built.stop()
