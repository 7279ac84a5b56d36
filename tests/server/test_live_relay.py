"""Live events across server processes on PostgreSQL: an event that is not an alarm's (a
family member's away change) rides in the transaction that makes the change, whole, and
reaches every listening process's hub only when that transaction commits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from onebox.net import wait_for
from onebox.postgres import PostgresCluster
from server.db.engine import make_engine, session_factory
from server.live_relay import PostgresLiveRelay, announce_event


class Hub:
    """Stands in for a process's live hub: what its consoles would be sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.resyncs = 0

    def publish(self, event: dict[str, Any]) -> None:
        self.sent.append(event)

    def disconnect_all(self) -> None:
        self.resyncs += 1


@pytest.fixture
def database(postgres: PostgresCluster) -> str:
    return postgres.create_database("live_relay")


@pytest.fixture
def hubs(database: str) -> Iterator[list[Hub]]:
    """Two server processes' relays listening on one database."""
    engine = make_engine(database)
    made = [Hub(), Hub()]
    relays = [PostgresLiveRelay(database, session_factory(engine), h) for h in made]  # type: ignore[arg-type]
    for relay in relays:
        relay.start()
    for relay in relays:
        assert relay.listening.wait(10)
    yield made
    for relay in relays:
        relay.stop()
    engine.dispose()


def test_an_event_reaches_every_process_on_commit_and_never_on_rollback(
    database: str, hubs: list[Hub]
) -> None:
    engine = make_engine(database)
    sessions = session_factory(engine)
    rolled_back = {"type": "away.family_changed", "by": "family-1", "action": "plan_away"}
    committed = {**rolled_back, "action": "back_now"}
    try:
        with sessions() as session:
            assert announce_event(session, rolled_back, via_database=True) is None
            session.rollback()
        with sessions.begin() as session:
            assert announce_event(session, committed, via_database=True) is None
            session.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    wait_for(lambda: all(h.sent for h in hubs), 10, "the event at both processes")
    assert [h.sent for h in hubs] == [[committed], [committed]]


def test_one_process_announces_straight_to_its_own_hub() -> None:
    event = {"type": "away.family_changed", "by": "family-1"}
    assert announce_event(None, event, via_database=False) is event  # type: ignore[arg-type]
