"""Property-based fuzzing of the whole OpenAPI as an admin (schemathesis): whatever the
request, the server answers it, with a 4xx when the request is wrong, and never a 5xx.

In-process against the ASGI app on SQLite, authenticated with ``SERVER_ADMIN_TOKEN``, over a
small seeded district so that some generated ids hit real records. The live stream is left
out: it never ends by design, and its only input is the token.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.schemas import BaseSchema

from server.core.config import ServerSettings
from server.main import create_app
from tests.server.care_seed import seed_district

TOKEN = "fuzzing-admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES_PER_OPERATION = 30


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaseSchema]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    app = create_app(
        ServerSettings(
            data_dir=data_dir,
            mqtt_enabled=False,
            admin_password="fuzz-admin-password",
            admin_token=TOKEN,
            dispatch_tick_s=60,
        )
    )
    # Loading the schema starts the app (lifespan), which migrates and installs the token.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    with app.state.centre.sessions.begin() as session:
        seed_district(session)
    yield schema.exclude(path="/api/stream")
    shutdown_lifespans()


def test_no_request_makes_the_server_fail(api_schema: BaseSchema) -> None:
    """Every operation in turn, each with its own bounded hypothesis run; all failures are
    collected, so one run reports every operation that fails. (schemathesis' lazy pytest
    loader reads a pytest private that pytest 9 no longer has, hence the loop.)"""
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,  # the same inputs every run, so a failure reproduces
            database=None,
        )
        def fuzz(case: Case) -> None:
            case.call_and_validate(headers=ADMIN, checks=[not_a_server_error])

        try:
            fuzz()
        except Exception as err:  # collected, and asserted on below
            failures[operation.label] = str(err)[:300]
    assert len(operations) >= 40
    assert failures == {}
