"""CPython's thread switch interval, shortened for a server whose I/O threads must not queue
behind its CPU-bound ones.

Only one thread runs Python at a time; one that wants the interpreter back (a socket read
returned) waits until the running one has held it for the switch interval, 5 ms by default.
The server's I/O threads are short and frequent: the alarm lane, paho's network thread, the
telemetry sender posting one InfluxDB batch after another. Behind a thread decoding or
encoding telemetry each of them waits up to 5 ms at every turn. With 0.5 ms the telemetry
sender keeps InfluxDB busy: ``bench.telemetry --via handler`` on this 2-core machine went from
0.66 to 0.78 of the direct write rate (two rounds each, same run otherwise). The cost is more
frequent hand-overs between threads, a few thousand a second at most.
"""

from __future__ import annotations

import sys

SWITCH_INTERVAL_S = 0.0005


def tune_switching(interval_s: float = SWITCH_INTERVAL_S) -> None:
    """Call once at start, before the server's threads take traffic."""
    sys.setswitchinterval(interval_s)
