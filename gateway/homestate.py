"""What the home detectors have learned, kept across gateway restarts.

The inactivity detector learns a home's routine over weeks (which silences are usual at which
hour); a restart must not throw that away, nor forget a silence that began before it (a
resident who fell before a power cut is still lying there after it). The detectors' state is
plain Python data, so it is pickled whole, atomically (temporary file, fsync, rename), at most
every few minutes and when the gateway stops.

The file is the gateway's own, in its data directory beside the outbox, and trusted like it.
A file that cannot be read (another version of the code, a torn disk) is set aside and the
detectors start afresh, with a warning: learning again is better than not starting.
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

from gateway.detect.home import HomeMonitor

log = logging.getLogger(__name__)
FORMAT = 2  # bump when the detectors' state changes shape
UPGRADABLE = 1  # the detectors alone, before away periods: their learning is kept


def save(monitor: HomeMonitor, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as handle:
        pickle.dump((FORMAT, monitor), handle, protocol=pickle.HIGHEST_PROTOCOL)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def load(path: Path) -> HomeMonitor | None:
    """The saved detectors, or None (nothing saved, or unusable: set aside as ``.bad``)."""
    if not path.exists():
        return None
    try:
        with path.open("rb") as handle:
            version, monitor = pickle.load(handle)  # noqa: S301 - the gateway's own file
        if version == UPGRADABLE and isinstance(monitor, HomeMonitor):
            # Unpickling sets the fields it has by position: the detectors, not the schedule.
            monitor, version = HomeMonitor(detectors=monitor.detectors), FORMAT
        if version != FORMAT or not isinstance(monitor, HomeMonitor):
            raise ValueError(f"format {version!r}, {type(monitor).__name__}")
    except Exception as err:
        log.warning("home detectors' saved state unusable (%s); starting afresh", err)
        os.replace(path, path.with_suffix(".bad"))
        return None
    return monitor
