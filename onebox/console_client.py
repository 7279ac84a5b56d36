"""A client of the centre's API as a console would use it: login, alarms, the live stream.

The demo and the benchmark measure latency at :class:`LiveStream`: the moment the live
stream hands an alarm to a subscribed client.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx


class ConsoleClient:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=10)
        response = self.http.post(
            "/api/auth/login", json={"username": username, "password": password}
        )
        response.raise_for_status()
        self.token: str = response.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def alarms(self, **params: Any) -> list[dict[str, Any]]:
        response = self.http.get("/api/alarms", params=params)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    def every_alarm(self, **params: Any) -> list[dict[str, Any]]:
        """Every alarm, newest first, page by page along the cursor the server links as
        ``rel="next"``: each alarm once even while new ones arrive (they are newer than the
        cursor), which offset pages cannot promise."""
        found: list[dict[str, Any]] = []
        response = self.http.get("/api/alarms", params={"limit": 1000, **params})
        while True:
            response.raise_for_status()
            found += response.json()
            link = response.links.get("next")
            if link is None:
                return found
            response = self.http.get(link["url"])

    def acknowledge(self, alarm_id: str) -> dict[str, Any]:
        response = self.http.post(f"/api/alarms/{alarm_id}/acknowledge")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self.http.close()


@dataclass(frozen=True)
class LiveEvent:
    received_at: float  # wall clock when the client had the whole event
    type: str
    data: dict[str, Any]


class LiveStream:
    """Subscribes to ``/api/stream`` in a thread and keeps every event with its arrival time."""

    def __init__(self, base_url: str, token: str) -> None:
        self._base_url = base_url
        self._token = token
        self.events: list[LiveEvent] = []
        self.connected = threading.Event()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-stream", daemon=True)
        self._response: httpx.Response | None = None

    def start(self) -> LiveStream:
        self._thread.start()
        if not self.connected.wait(10):
            raise TimeoutError("live stream did not connect")
        return self

    def stop(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            response.close()  # unblocks the reader and lets the server see us go
        self._thread.join(timeout=5)

    def wait_for(self, predicate: Any, timeout: float) -> bool:
        with self._changed:
            return bool(self._changed.wait_for(lambda: predicate(self.events), timeout))

    def alarms_raised(self) -> list[LiveEvent]:
        with self._changed:
            return [e for e in self.events if e.type == "alarm.raised"]

    def _run(self) -> None:
        try:
            self._listen()
        except (httpx.HTTPError, httpx.StreamError):
            if not self._stop.is_set():
                raise

    def _listen(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "text/event-stream"}
        timeout = httpx.Timeout(10, read=None)
        with (
            httpx.Client(base_url=self._base_url, timeout=timeout) as http,
            http.stream("GET", "/api/stream", headers=headers) as response,
        ):
            self._response = response
            response.raise_for_status()
            kind, data = "", ""
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(":"):
                    self.connected.set()
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif line == "" and data:
                    event = LiveEvent(time.time(), kind, json.loads(data))
                    with self._changed:
                        self.events.append(event)
                        self._changed.notify_all()
                    kind, data = "", ""
