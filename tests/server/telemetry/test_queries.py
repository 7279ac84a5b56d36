"""The console's chart queries answer the same on the embedded store and on a real InfluxDB.

One data set is written to each store; every question is asked of both and the answers are
compared with each other and with means computed here from the data itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from server.telemetry import LatestValue, SeriesQuery, TelemetryPoint, TelemetryStore
from server.telemetry.embedded import EmbeddedTelemetryStore
from server.telemetry.influx import InfluxTelemetryStore
from server.telemetry.point import FieldValue

ODD_DEVICE = "button 'kitchen', \\ \"x\" =1"
STEP_S = 10
COUNT = 720  # two hours, one point every 10 s


def heart_rate(i: int) -> int:
    return 60 + (i * 7) % 23


def dataset(base: datetime) -> list[TelemetryPoint]:
    points = []
    for i in range(COUNT):
        at = base + timedelta(seconds=STEP_S * i)
        for device, offset in (("bed-1", 0), (ODD_DEVICE, 100)):
            points.append(
                TelemetryPoint.at(
                    "vitals",
                    {"gateway_id": "gw-1", "device_id": device},
                    {
                        "heart_rate": heart_rate(i) + offset,
                        "temperature": 36.0 + (i % 10) / 10,
                        "moving": i % 2 == 0,
                        "state": f"s{i % 3}",
                    },
                    at,
                )
            )
        if i % 60 == 0:  # the gateway's own points carry no device_id
            points.append(
                TelemetryPoint.at("vitals", {"gateway_id": "gw-1"}, {"heart_rate": i}, at)
            )
    points.append(
        TelemetryPoint.at(
            "vitals", {"gateway_id": "gw-2", "device_id": "bed-1"}, {"heart_rate": 1}, base
        )
    )
    return points


def load(store: TelemetryStore, base: datetime) -> None:
    points = dataset(base)
    for start in range(0, len(points), 1000):
        store.write_batch(points[start : start + 1000])


def expected_means(
    base: datetime, start: datetime, end: datetime, bucket_s: int
) -> dict[int, float]:
    sums: dict[int, list[int]] = {}
    for i in range(COUNT):
        at = base + timedelta(seconds=STEP_S * i)
        if start <= at < end:
            ts = int(at.timestamp())
            sums.setdefault(ts - ts % bucket_s, []).append(heart_rate(i))
    return {key: sum(v) / len(v) for key, v in sorted(sums.items())}


@pytest.fixture
def both(
    embedded_store: EmbeddedTelemetryStore, influx_store: InfluxTelemetryStore, base_time: datetime
) -> tuple[EmbeddedTelemetryStore, InfluxTelemetryStore]:
    for store in (embedded_store, influx_store):
        store.prepare()
        load(store, base_time)
    return embedded_store, influx_store


@pytest.mark.parametrize(
    ("start_s", "end_s", "bucket_s"),
    [(0, 7200, 30), (17, 3603, 60), (0, 7200, 900), (5, 6, 1), (7200, 9000, 60)],
)
def test_series_are_the_same_on_both_stores_and_right(
    both: tuple[EmbeddedTelemetryStore, InfluxTelemetryStore],
    base_time: datetime,
    start_s: int,
    end_s: int,
    bucket_s: int,
) -> None:
    start, end = base_time + timedelta(seconds=start_s), base_time + timedelta(seconds=end_s)
    query = SeriesQuery("vitals", "heart_rate", "gw-1", "bed-1", start, end, bucket_s)
    embedded, influx = (store.series(query) for store in both)

    expected = expected_means(base_time, start, end, bucket_s)
    for answer in (embedded, influx):
        assert [int(p.time.timestamp()) for p in answer] == list(expected)
        assert [p.mean for p in answer] == pytest.approx(list(expected.values()))


def test_a_device_name_full_of_quotes_is_one_device_not_injected_text(
    both: tuple[EmbeddedTelemetryStore, InfluxTelemetryStore], base_time: datetime
) -> None:
    end = base_time + timedelta(hours=2)
    odd = SeriesQuery("vitals", "heart_rate", "gw-1", ODD_DEVICE, base_time, end, 3600)
    gateway_own = SeriesQuery("vitals", "heart_rate", "gw-1", None, base_time, end, 3600)
    for store in both:
        assert [p.mean for p in store.series(odd)] == pytest.approx([171.0, 171.0], abs=1)
        assert [p.mean for p in store.series(gateway_own)] == [150.0, 510.0]


@pytest.mark.parametrize(
    "hostile",
    ["gw-1' OR '1'='1", "gw-1\\' OR gateway_id =~ /.*/ --", 'gw-1" OR "x"="x', "gw-1\n"],
)
def test_hostile_tag_values_match_nothing(
    both: tuple[EmbeddedTelemetryStore, InfluxTelemetryStore], base_time: datetime, hostile: str
) -> None:
    end = base_time + timedelta(hours=2)
    query = SeriesQuery("vitals", "heart_rate", hostile, "bed-1", base_time, end, 60)
    for store in both:
        assert store.series(query) == []
        assert store.latest("vitals", "heart_rate", hostile) == []


def test_a_hostile_field_or_measurement_name_is_only_a_name(
    both: tuple[EmbeddedTelemetryStore, InfluxTelemetryStore], base_time: datetime
) -> None:
    _, influx = both
    end = base_time + timedelta(hours=2)
    for measurement, field in [
        ('vitals") FROM vitals --', "heart_rate"),
        ("vitals", 'heart_rate") FROM "vitals"; DROP DATABASE x --'),
    ]:
        query = SeriesQuery(measurement, field, "gw-1", "bed-1", base_time, end, 60)
        assert influx.series(query) == []
    assert {"name": influx.database} in influx.query("SHOW DATABASES")


def test_latest_values_are_the_same_on_both_stores(
    both: tuple[EmbeddedTelemetryStore, InfluxTelemetryStore], base_time: datetime
) -> None:
    last = base_time + timedelta(seconds=STEP_S * (COUNT - 1))
    cases: list[tuple[str, FieldValue, FieldValue]] = [
        ("heart_rate", heart_rate(COUNT - 1), heart_rate(COUNT - 1) + 100),
        ("temperature", 36.9, 36.9),
        ("moving", False, False),
        ("state", "s2", "s2"),
    ]
    for field, bed, odd in cases:
        expected = [
            LatestValue("gw-1", ODD_DEVICE, last, odd),
            LatestValue("gw-1", "bed-1", last, bed),
        ]
        for store in both:
            found = store.latest("vitals", field, "gw-1")
            by_device = {v.device_id or "": v for v in found}
            assert {ODD_DEVICE, "bed-1"} <= set(by_device)
            for want in expected:
                got = by_device[want.device_id or ""]
                assert (got.gateway_id, got.time) == (want.gateway_id, want.time)
                if isinstance(want.value, float):
                    assert got.value == pytest.approx(want.value)
                else:
                    assert got.value == want.value
                    assert type(got.value) is type(want.value)


def test_latest_across_gateways_includes_the_gateways_own_points(
    both: tuple[EmbeddedTelemetryStore, InfluxTelemetryStore], base_time: datetime
) -> None:
    answers = [store.latest("vitals", "heart_rate") for store in both]
    assert answers[0] == answers[1]
    keys = [(v.gateway_id, v.device_id) for v in answers[0]]
    assert keys == [("gw-1", None), ("gw-1", "bed-1"), ("gw-1", ODD_DEVICE), ("gw-2", "bed-1")]
    assert answers[0][0].value == 660
    assert answers[0][-1] == LatestValue("gw-2", "bed-1", base_time, 1)


def test_embedded_retention_prunes_old_points(
    embedded_store: EmbeddedTelemetryStore, base_time: datetime
) -> None:
    old = base_time - timedelta(days=31)
    embedded_store.write_batch(
        [
            TelemetryPoint.at("battery", {"gateway_id": "gw-1"}, {"percent": 1}, old),
            TelemetryPoint.at("battery", {"gateway_id": "gw-1"}, {"percent": 2}, base_time),
        ]
    )
    embedded_store.housekeep()  # 30 days by default, from the store's clock (now)
    assert [fields for _, _, fields in embedded_store.query("battery")] == [{"percent": 2}]
    assert embedded_store.prune(base_time + timedelta(seconds=1)) == 1
    assert embedded_store.query("battery") == []
