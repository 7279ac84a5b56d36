"""One server process runs cloud fall detection: on PostgreSQL whoever holds the advisory
lock, the next one when it goes (stopped, or its connection cut); on SQLite always this one."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from onebox.net import wait_for
from onebox.postgres import PostgresCluster
from server.ingest.fall_leader import LOCK_KEY, FallLeadership

POLL_S = 0.05


class Candidate:
    """A server process's election, with what it was told."""

    def __init__(self, url: str) -> None:
        self.calls: list[str] = []
        self.election = FallLeadership(
            url,
            lambda: self.calls.append("lead"),
            lambda: self.calls.append("follow"),
            poll_s=POLL_S,
        )


@pytest.fixture
def url(postgres: PostgresCluster) -> str:
    return postgres.create_database(f"leader_{secrets.token_hex(4)}")


@pytest.fixture
def pair(url: str) -> Iterator[list[Candidate]]:
    made = [Candidate(url), Candidate(url)]
    try:
        yield made
    finally:
        for candidate in made:
            candidate.election.stop()


def leaders(pair: list[Candidate]) -> list[Candidate]:
    return [c for c in pair if c.election.leading]


def test_exactly_one_leads_and_the_other_takes_over_when_it_stops(pair: list[Candidate]) -> None:
    for candidate in pair:
        candidate.election.start()
    wait_for(lambda: len(leaders(pair)) == 1, 10, "a leader")
    [first] = leaders(pair)
    [second] = [c for c in pair if c is not first]
    # Several polls later there is still one, and the other was never told to lead.
    wait_for(lambda: second.election.polls >= 5, 10, "the other polling")
    assert (first.calls, second.calls) == (["lead"], [])
    first.election.stop()
    wait_for(lambda: second.election.leading, 10, "the take-over")
    assert second.calls == ["lead"]


def test_a_leader_whose_connection_is_cut_steps_down(pair: list[Candidate], url: str) -> None:
    for candidate in pair:
        candidate.election.start()
    wait_for(lambda: len(leaders(pair)) == 1, 10, "a leader")
    [first] = leaders(pair)
    [second] = [c for c in pair if c is not first]
    admin = create_engine(url)
    try:
        with admin.connect() as db:
            # The lock holder's backend, killed as a network cut or a DBA would.
            db.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND objid = :k AND granted"
                ),
                {"k": LOCK_KEY},
            )
    finally:
        admin.dispose()
    wait_for(lambda: second.election.leading, 10, "the take-over")
    wait_for(lambda: first.calls == ["lead", "follow"], 10, "the step-down")


def test_on_sqlite_the_one_process_leads_at_once(tmp_path: Path) -> None:
    candidate = Candidate(f"sqlite:///{tmp_path / 'one.sqlite3'}")
    candidate.election.start()
    assert (candidate.election.leading, candidate.calls) == (True, ["lead"])
    candidate.election.stop()
