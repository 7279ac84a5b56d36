"""A fleet of simulated homes for load tests of the centre: N gateways over N connections,
each with its own broker account, shared among a few threads (:mod:`.shard`).

Import :class:`Fleet` from a benchmark or a chaos campaign: start it, let it run (or raise
alarms yourself with :meth:`Fleet.raise_alarm`), stop it, and read :attr:`Fleet.ledger`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from firmware_sim.fleet.gateway import SimulatedGateway
from firmware_sim.fleet.ledger import FleetLedger, FleetSummary
from firmware_sim.fleet.rates import HomeRates
from firmware_sim.fleet.shard import Link, Shard
from protocol import AlarmKind
from protocol.mqtt import BrokerEndpoint, new_client
from protocol.topics import validate_gateway_id


def gateway_ids(homes: int, prefix: str = "fleet-") -> list[str]:
    """``fleet-00001`` ...: valid gateway ids (and so broker usernames)."""
    width = max(5, len(str(homes)))
    return [validate_gateway_id(f"{prefix}{i:0{width}d}") for i in range(1, homes + 1)]


@dataclass
class FleetConfig:
    host: str
    port: int
    gateway_ids: Sequence[str]
    password: Callable[[str], str]  # the broker password of each gateway account
    rates: HomeRates = field(default_factory=HomeRates)
    resend_s: float = 10.0  # GATEWAY_RESEND_INTERVAL_S default
    shards: int = 2
    ramp_per_s: float = 500.0  # connections opened per second per shard
    seed: int = 0
    generate: bool = True  # False: only heartbeats, and the alarms raised by hand


class Fleet:
    def __init__(
        self,
        config: FleetConfig,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.ledger = FleetLedger()
        rng = random.Random(config.seed)  # noqa: S311 - simulated traffic, not crypto
        self.gateways: dict[str, SimulatedGateway] = {}
        per_shard: list[list[Link]] = [[] for _ in range(max(1, config.shards))]
        self._shard_of: dict[str, int] = {}
        for i, gateway_id in enumerate(config.gateway_ids):
            gateway = SimulatedGateway(
                gateway_id,
                f"home-{gateway_id}",
                self.ledger,
                heartbeat_s=config.rates.heartbeat_s,
                resend_s=config.resend_s,
                rng=random.Random(rng.random()),  # noqa: S311
                clock=clock,
            )
            endpoint = BrokerEndpoint(
                config.host, config.port, gateway_id, config.password(gateway_id)
            )
            client = new_client(f"gateway-{gateway_id}", endpoint)
            shard = i % len(per_shard)
            per_shard[shard].append(Link(gateway, endpoint, client))
            self.gateways[gateway_id] = gateway
            self._shard_of[gateway_id] = shard
        self.shards = [
            Shard(
                n,
                links,
                config.rates,
                random.Random(rng.random()),  # noqa: S311
                ramp_per_s=config.ramp_per_s,
                generate=config.generate,
                monotonic=monotonic,
            )
            for n, links in enumerate(per_shard)
        ]

    def start(self) -> Fleet:
        for shard in self.shards:
            shard.start()
        return self

    def connected(self) -> int:
        return len(self.ledger.connected)

    def raise_alarm(self, gateway_id: str, kind: AlarmKind = AlarmKind.EMERGENCY_CALL) -> None:
        """Have one home raise an alarm now (handed to the thread that owns its connection)."""
        gateway = self.gateways[gateway_id]
        self.shards[self._shard_of[gateway_id]].call_soon(
            lambda now: gateway.raise_alarm(kind, now)
        )

    def quiet(self) -> None:
        """No new telemetry, events or alarms; heartbeats and resends go on (a drain)."""
        for shard in self.shards:
            shard.quiet.set()

    def stop(self) -> None:
        for shard in self.shards:
            shard.call_soon(_stopper(shard))
        for shard in self.shards:
            shard.stopped.wait(10)
            shard.join(10)

    def summary(self) -> FleetSummary:
        return self.ledger.summary(len(self.gateways))


def _stopper(shard: Shard) -> Callable[[float], None]:
    return lambda _now: shard.begin_stop()
