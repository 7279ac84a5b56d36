"""Retention and downsampling on InfluxDB 1.x, set up idempotently on every start.

Two retention policies on the telemetry database: ``raw`` (the default: every write lands there,
kept ``raw_days``) and ``rollup_<interval>s`` (means per interval, kept ``rollup_days``), fed by
one continuous query. Each start compares what exists with the plan and only issues what
differs: a changed duration is an ``ALTER``, a changed interval is a new policy and query
(the old query is dropped, its data kept until it expires).

Why not ``CREATE ... IF NOT EXISTS``: InfluxQL has none. ``CREATE RETENTION POLICY`` with the
same name and another duration fails ("retention policy already exists"), ``CREATE
CONTINUOUS QUERY`` with the same name and another text fails, so we read before we write.

InfluxDB 2.x and 3.x do not accept these statements on their v1 API: buckets, DBRP mappings
and downsampling tasks are set up by the operator there (README), and the store is told not to
manage the schema (``SERVER_INFLUX_MANAGE_SCHEMA=false``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.telemetry import influxql

RAW_POLICY = "raw"
_ROLLUP_PREFIX = "rollup_"
_DAY_S = 86_400

# One /query round trip: the JSON ``series`` of the first statement's result.
RunStatement = Callable[[str], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """How long raw and downsampled telemetry is kept, and the downsampling interval."""

    raw_days: int = 30
    rollup_interval_s: int = 300
    rollup_days: int = 730

    def __post_init__(self) -> None:
        if self.raw_days < 1 or self.rollup_days < 1:
            raise ValueError("retention is at least one day")
        if self.rollup_interval_s < 1:
            raise ValueError("the downsampling interval is at least one second")

    @property
    def rollup_policy(self) -> str:
        return f"{_ROLLUP_PREFIX}{self.rollup_interval_s}s"

    @property
    def continuous_query(self) -> str:
        return f"{self.rollup_policy}_mean"


def _shard_duration_s(duration_s: int) -> int:
    """InfluxDB's own default for a policy of this length (1 h, 1 d or 7 d shard groups)."""
    if duration_s < 2 * _DAY_S:
        return 3600
    if duration_s <= 180 * _DAY_S:
        return _DAY_S
    return 7 * _DAY_S


def rollup_select(database: str, plan: RetentionPlan, where: str = "") -> str:
    """The downsampling query: means of every numeric field, all tags kept, per interval.

    ``mean(*)`` names the outputs ``mean_<field>``; boolean and string fields are skipped
    (InfluxQL's wildcard takes only the fields ``mean`` accepts).
    """
    into = f"{influxql.identifier(database)}.{influxql.identifier(plan.rollup_policy)}"
    src = f"{influxql.identifier(database)}.{influxql.identifier(RAW_POLICY)}./.*/"
    condition = f" WHERE {where}" if where else ""
    return (
        f"SELECT mean(*) INTO {into}.:MEASUREMENT FROM {src}{condition}"  # noqa: S608
        f" GROUP BY time({plan.rollup_interval_s}s), *"
    )


def ensure_schema(run: RunStatement, database: str, plan: RetentionPlan) -> list[str]:
    """Bring the database to ``plan``; returns the statements it had to run (none if current)."""
    db = influxql.identifier(database)
    done: list[str] = []

    def execute(statement: str) -> None:
        run(statement)
        done.append(statement)

    # Idempotent on 1.x; it also creates ``autogen``, which stays unused (not the default).
    run(f"CREATE DATABASE {db}")
    policies = {row["name"]: row for row in _rows(run(f"SHOW RETENTION POLICIES ON {db}"))}
    wanted = [
        (RAW_POLICY, plan.raw_days * _DAY_S, True),
        (plan.rollup_policy, plan.rollup_days * _DAY_S, False),
    ]
    for name, duration_s, default in wanted:
        shard_s = _shard_duration_s(duration_s)
        spec = f"DURATION {duration_s}s REPLICATION 1 SHARD DURATION {shard_s}s"
        spec += " DEFAULT" if default else ""
        current = policies.get(name)
        if current is None:
            execute(f"CREATE RETENTION POLICY {influxql.identifier(name)} ON {db} {spec}")
        elif (
            influxql.go_duration_s(current["duration"]) != duration_s
            or influxql.go_duration_s(current["shardGroupDuration"]) != shard_s
            or (default and not current["default"])
        ):
            execute(f"ALTER RETENTION POLICY {influxql.identifier(name)} ON {db} {spec}")
    queries = _continuous_queries(run, database)
    for name in queries:
        if name.startswith(_ROLLUP_PREFIX) and name != plan.continuous_query:
            execute(f"DROP CONTINUOUS QUERY {influxql.identifier(name)} ON {db}")
    if plan.continuous_query not in queries:
        body = rollup_select(database, plan)
        name = influxql.identifier(plan.continuous_query)
        execute(f"CREATE CONTINUOUS QUERY {name} ON {db} BEGIN {body} END")
    return done


def _rows(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        dict(zip(one["columns"], values, strict=True))
        for one in series
        for values in one.get("values", [])
    ]


def _continuous_queries(run: RunStatement, database: str) -> dict[str, str]:
    """Name -> text of the continuous queries on ``database`` (one series per database)."""
    found: dict[str, str] = {}
    for one in run("SHOW CONTINUOUS QUERIES"):
        if one.get("name") == database:
            for row in _rows([one]):
                found[row["name"]] = row["query"]
    return found
