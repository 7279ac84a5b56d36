"""Paging through lists: limit and offset as query parameters (the total comes back too), and
for the alarm list, which grows at its head while someone pages, a cursor.

Offset pages of a newest-first list shift when rows arrive between two reads: the next page
repeats rows already seen (the fleet bench and the flood test once counted alarms twice). A
cursor names the last row read by its sort key instead, so the next page starts right after
it whatever arrived meanwhile. It is opaque to clients: base64url of the key, so its form can
change without breaking them.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
CursorText = Annotated[
    str | None,
    Query(
        max_length=200,
        description="the cursor of the page before (from the Link rel=next header)",
    ),
]


@dataclass(frozen=True)
class Cursor:
    """The sort key of the last row of a page: a time, then an id breaking ties."""

    at: datetime
    key: str

    def encode(self) -> str:
        raw = f"{self.at.isoformat()} {self.key}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Raises ``ValueError`` for anything ``encode`` did not make."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError) as err:
            raise ValueError("not a cursor") from err
        at, _, key = raw.partition(" ")
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None or not 0 < len(key) <= 64 or not key.isprintable():
            raise ValueError("not a cursor")
        try:
            return cls(parsed.astimezone(UTC), key)
        except OverflowError as err:  # a forged time at the calendar's edge
            raise ValueError("not a cursor") from err
