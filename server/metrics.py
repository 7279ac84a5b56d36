"""Prometheus metrics of one server process, served at ``/metrics``.

Counters the process already keeps (ingest by message type, rejections by reason, the
telemetry writer's statistics) are read at scrape time by a collector, so the hot paths carry
no extra bookkeeping; the one thing measured on the way is the alarm latency histogram. Open
alarms and gateway states come from SQL, so every process behind the shared subscription
reports the same centre-wide figures for them.

Names follow Prometheus conventions: ``_total`` for counters, base units (seconds).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from server.db.models import Alarm, Gateway
from server.telemetry.stats import LATENCY_BOUNDS_S

if TYPE_CHECKING:
    from server.centre import Centre

log = logging.getLogger(__name__)

# From the gateway raising an alarm (its gateway_time) to this process storing it: seconds
# normally, minutes after an outage (the backlog), so the buckets reach an hour.
LATENCY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
_NOT_ALARM_COUNTS = ("rejected_", "telemetry_", "duplicate_alarm")


class CentreMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()  # no describe at register: collect reads SQL
        self.alarm_latency = Histogram(
            "eldercare_alarm_latency_seconds",
            "From the gateway raising an alarm to the centre storing it (new alarms only).",
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )

    def watch(self, centre: Centre) -> None:
        self.registry.register(_CentreCollector(centre))


class _CentreCollector(Collector):
    def __init__(self, centre: Centre) -> None:
        self._centre = centre

    def collect(self) -> Iterator[Metric]:
        yield from self._ingest()
        yield from self._store_health()
        yield from self._telemetry()
        yield from self._store()

    def _ingest(self) -> Iterator[Metric]:
        counts = dict(self._centre.handler.counts)
        messages = CounterMetricFamily(
            "eldercare_ingest_messages", "Uplink messages accepted, by type.", labels=["type"]
        )
        rejected = CounterMetricFamily(
            "eldercare_ingest_rejected",
            "Uplink messages refused (kept as dead letters), by reason.",
            labels=["reason"],
        )
        for key, value in sorted(counts.items()):
            if key.startswith("rejected_"):
                rejected.add_metric([key.removeprefix("rejected_")], value)
            elif not key.startswith(_NOT_ALARM_COUNTS):
                messages.add_metric([key], value)
        yield messages
        yield rejected
        yield CounterMetricFamily(
            "eldercare_ingest_duplicate_alarms",
            "Alarms received again (a gateway resending after a lost receipt); stored once.",
            value=counts.get("duplicate_alarm", 0),
        )
        yield from self._lanes()

    def _store_health(self) -> Iterator[Metric]:
        health = self._centre.store_health
        yield GaugeMetricFamily(
            "eldercare_store_failing",
            "1 while the database refuses writes (down, locked, full): alarms wait at gateways.",
            value=int(health.fault is not None),
        )
        yield CounterMetricFamily(
            "eldercare_store_refused_writes",
            "Writes the database refused because of a store fault, all episodes.",
            value=health.refused,
        )
        yield CounterMetricFamily(
            "eldercare_store_pool_timeouts",
            "Writes not done because no database connection came free in time (overload, not "
            "a store fault; the gateway resends).",
            value=health.pool_timeouts,
        )

    def _lanes(self) -> Iterator[Metric]:
        """The ingest lanes behind the MQTT thread (``server/ingest/broker.py``)."""
        broker = self._centre.broker
        if broker is None:
            return
        depth = GaugeMetricFamily(
            "eldercare_ingest_queue_messages",
            "Messages received from the broker and waiting for their ingest lane, by lane.",
            labels=["lane"],
        )
        for lane, waiting in sorted(broker.backlog.items()):
            depth.add_metric([lane], waiting)
        yield depth
        yield CounterMetricFamily(
            "eldercare_ingest_routine_dropped",
            "Routine messages dropped because their lane was full (resent or lossy anyway).",
            value=broker.routine_dropped,
        )

    def _telemetry(self) -> Iterator[Metric]:
        stats = self._centre.telemetry.stats()
        yield GaugeMetricFamily(
            "eldercare_telemetry_queue_points", "Telemetry points waiting to be written.",
            value=stats.queued,
        )  # fmt: skip
        yield CounterMetricFamily(
            "eldercare_telemetry_written_points", "Points the store accepted.", value=stats.written
        )
        dropped = CounterMetricFamily(
            "eldercare_telemetry_dropped_points",
            "Points given up, by reason (queue_full: shed oldest-first under overload).",
            labels=["reason"],
        )
        for reason, value in sorted(stats.dropped.items()):
            dropped.add_metric([reason], value)
        yield dropped
        yield GaugeMetricFamily(
            "eldercare_telemetry_shedding", "1 while telemetry is being shed.",
            value=int(stats.shedding),
        )  # fmt: skip
        latency = stats.batch_latency
        buckets = [
            (str(bound), count)
            for bound, count in zip(LATENCY_BOUNDS_S, latency.cumulative, strict=True)
        ]
        buckets.append(("+Inf", latency.count))
        yield HistogramMetricFamily(
            "eldercare_telemetry_batch_seconds",
            "Time to write one telemetry batch, retries included.",
            buckets=buckets,
            sum_value=latency.sum_s,
        )

    def _store(self) -> Iterator[Metric]:
        alarms = GaugeMetricFamily(
            "eldercare_alarms", "Alarms not yet resolved, by lifecycle state.", labels=["state"]
        )
        gateways = GaugeMetricFamily("eldercare_gateways", "Gateways by state.", labels=["state"])
        try:
            with self._centre.sessions() as session:
                for state, count in session.execute(
                    select(Alarm.state, func.count())
                    .where(Alarm.state != "resolved")
                    .group_by(Alarm.state)
                ):
                    alarms.add_metric([state], count)
                for state, count in session.execute(
                    select(Gateway.state, func.count()).group_by(Gateway.state)
                ):
                    gateways.add_metric([state], count)
        except SQLAlchemyError:
            # A scrape must still answer when the database does not: the failure is a figure.
            log.exception("metrics: the database could not be read")
            yield GaugeMetricFamily("eldercare_store_up", "1 if SQL answered the scrape.", value=0)
            return
        yield alarms
        yield gateways
        yield GaugeMetricFamily("eldercare_store_up", "1 if SQL answered the scrape.", value=1)
