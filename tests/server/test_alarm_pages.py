"""Paging through /api/alarms while alarms keep arriving: the cursor reads every alarm once,
where offset pages shift onto rows already read. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from server.core.config import ServerSettings
from server.crud.alarms import ingest_alarm
from server.main import create_app
from tests.factories import alarm_message
from tests.server.test_api import PASSWORD, login

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def client(tmp_path: Path, store_url: str | None) -> Iterator[TestClient]:
    settings = ServerSettings(
        data_dir=tmp_path, mqtt_enabled=False, admin_password=PASSWORD, database_url=store_url
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def store(client: TestClient, *received: datetime) -> list[str]:
    """Alarms received at the given times (equal times test the tie on id)."""
    centre = client.app.state.centre  # type: ignore[attr-defined]
    ids = []
    with centre.sessions.begin() as session:
        for at in received:
            message = alarm_message("gw-1", device_id="btn")
            assert ingest_alarm(session, message, at)
            ids.append(message.id)
    return ids


def next_page(response: httpx.Response) -> str | None:
    link = response.links.get("next")
    return link["url"] if link else None


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    page: list[dict[str, Any]] = response.json()
    return [a["id"] for a in page]


def test_cursor_reads_each_alarm_once_while_alarms_arrive(client: TestClient) -> None:
    headers = login(client)
    # Three share one received time: the id orders them, and a page may end inside the tie.
    times = [START + timedelta(seconds=s) for s in (0, 1, 2, 2, 2, 3, 4)]
    before = store(client, *times)
    first = client.get("/api/alarms?limit=3", headers=headers)
    seen = ids(first)
    store(client, *(START + timedelta(seconds=10 + s) for s in range(4)))  # arrive meanwhile
    url = next_page(first)
    while url is not None:
        page = client.get(url, headers=headers)
        seen += ids(page)
        url = next_page(page)
    assert sorted(seen) == sorted(before)  # each once; the newcomers are ahead of the cursor
    assert len(seen) == len(set(seen))
    newest_first = sorted(zip(times, before, strict=True), key=lambda t: (-t[0].timestamp(), t[1]))
    assert seen == [alarm_id for _, alarm_id in newest_first]


def test_offset_pages_still_work_and_shift(client: TestClient) -> None:
    """Offset pages, kept for existing clients, repeat rows when alarms arrive in between:
    the reason for the cursor."""
    headers = login(client)
    store(client, *(START + timedelta(seconds=s) for s in range(4)))
    first = ids(client.get("/api/alarms?limit=2&offset=0", headers=headers))
    store(client, START + timedelta(seconds=10))
    second = ids(client.get("/api/alarms?limit=2&offset=2", headers=headers))
    assert first[1] == second[0]


def test_link_keeps_filters_and_a_short_page_has_none(client: TestClient) -> None:
    headers = login(client)
    store(client, START, START + timedelta(seconds=1))
    full = client.get("/api/alarms?status=open&limit=1&offset=0", headers=headers)
    url = next_page(full)
    assert url is not None
    assert "status=open" in url
    assert "offset" not in url
    last = client.get(url, headers=headers)
    assert len(ids(last)) == 1
    tail = next_page(last)
    assert tail is not None
    assert ids(client.get(tail, headers=headers)) == []
    assert next_page(client.get("/api/alarms?limit=5", headers=headers)) is None


@pytest.mark.parametrize(
    "cursor",
    ["nonsense", "", "MjAyNi0wMy0wMVQwODowMDowMCBhYmM", "OTk5OS0xMi0zMVQyMzo1OTo1OS0xNDowMCBh"],
)
def test_a_forged_cursor_is_refused(client: TestClient, cursor: str) -> None:
    """Not base64, no time zone, a time past the calendar's end in UTC: 422, never a 500."""
    response = client.get("/api/alarms", params={"after": cursor}, headers=login(client))
    assert response.status_code == 422
