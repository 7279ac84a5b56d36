"""Settings and shared components for the whole suite.

Hypothesis's per-example deadline is a timing check: on a loaded two-core CI machine it fails
tests that are correct. Timing goals live in bench/, so the deadline is off everywhere.
"""

from collections.abc import Iterator

import pytest
from hypothesis import settings

from onebox.postgres import PostgresCluster

settings.register_profile("project", deadline=None)
settings.load_profile("project")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    """A real PostgreSQL 15 on a loopback port, for the whole run (server and system tests)."""
    cluster = PostgresCluster(tmp_path_factory.mktemp("postgres")).start()
    yield cluster
    cluster.stop()
