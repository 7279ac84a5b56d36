"""The record of injected faults: what, on which device, when.

A chaos campaign compares it with what the system under test noticed (alarms, counters), so
every fault helper writes here as it injects, never afterwards.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

Detail = dict[str, bool | int | float | str]


@dataclass(frozen=True)
class FaultRecord:
    at: float  # wall clock when injected (Unix seconds)
    device: str
    kind: str  # garbage, drop, duplicate, unplug, replug, stuck_press, battery, silent, ...
    detail: Detail = field(default_factory=dict)


class FaultLog:
    """Thread-safe list of :class:`FaultRecord`; optionally appended to a JSON Lines file."""

    def __init__(self, *, path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._records: list[FaultRecord] = []
        self._file = path.open("a", buffering=1, encoding="utf-8") if path else None

    def record(self, device: str, kind: str, **detail: bool | int | float | str) -> FaultRecord:
        entry = FaultRecord(self._clock(), device, kind, dict(detail))
        with self._lock:
            self._records.append(entry)
            if self._file is not None:
                self._file.write(json.dumps(asdict(entry)) + "\n")
        return entry

    @property
    def records(self) -> list[FaultRecord]:
        with self._lock:
            return list(self._records)

    def count(self, kind: str | None = None, device: str | None = None) -> int:
        return sum(
            1
            for r in self.records
            if (kind is None or r.kind == kind) and (device is None or r.device == device)
        )

    def by_kind(self) -> Counter[str]:
        return Counter(r.kind for r in self.records)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
