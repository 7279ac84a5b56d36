"""The server's uplink handler behind the codec: decode, store in SQLite, receipt, dead letters.

The codec target proves that bad payloads are refused; this one proves that what the codec
lets through can be stored, and that what it refuses becomes a dead letter, without an
exception reaching the ingest thread (which would leave a gateway resending the same message
forever). It runs a real migrated store in a temporary folder, so it is slower and gets
fewer inputs.
"""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.fuzzing.campaign import Case, Verdict
from bench.fuzzing.mqtt_targets import CodecTarget
from server.centre import Centre
from server.core.config import ServerSettings
from server.db.engine import migrate
from server.ingest.handler import UplinkHandler

NOW = datetime(2024, 3, 1, 12, 30, 10, tzinfo=UTC)
_SHM = Path("/dev/shm")  # the store syncs every commit; in memory that costs nothing


class IngestTarget:
    """Uplink messages, damaged as for the codec, through :meth:`UplinkHandler.handle`."""

    name = "server.ingest"

    def __init__(self, rng: random.Random) -> None:
        self._inputs = CodecTarget(rng, uplink_only=True)
        self._folder = tempfile.TemporaryDirectory(
            prefix="fuzz-ingest-", dir=_SHM if _SHM.is_dir() else None
        )
        settings = ServerSettings(
            data_dir=Path(self._folder.name), mqtt_enabled=False, admin_password="fuzz"
        )
        self._centre = Centre(settings)
        migrate(self._centre.engine)
        self._handler = UplinkHandler(
            self._centre.sessions, self._centre.telemetry, clock=NOW.timestamp
        )

    def generate(self) -> Case:
        return self._inputs.generate()

    def check(self, case: Case) -> Verdict:
        self._handler.counts.clear()
        self._handler.handle(case.topic, case.data)
        counts = dict(self._handler.counts)
        rejected = tuple(k.removeprefix("rejected_") for k in counts if k.startswith("rejected_"))
        notes = tuple((k, n) for k, n in counts.items() if not k.startswith("rejected_"))
        return Verdict(not rejected, rejected, notes)

    def close(self) -> None:
        self._centre.stop()
        self._folder.cleanup()
