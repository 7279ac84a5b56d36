"""How much a home says to the centre, per home, and a multiplier for load tests.

The defaults are what one family-care-bed kit behind a real gateway sends, and why:

- **status**: every ``GATEWAY_HEARTBEAT_INTERVAL_S``, 30 s by default (docs/protocol.md
  §14; SCAIP allows 1 to 1440 minutes, the centre wants minutes to notice a dead home).
- **telemetry**: the gateway forwards every battery reading: a serial call button heartbeats
  every 30 s (firmware-sim's default; supervised at 150 s), and each of about six battery
  Zigbee devices re-reports hourly (Aqara end devices, 50-60 min): about 2 points a minute.
- **events**: ``device_online`` / ``device_offline`` as Zigbee availability and serial ports
  come and go: a few a day (availability flaps, a kicked USB cable).
- **alarms**: per home and month, emergency calls "a few" (DOMAIN.md: the one-key call and the
  SOS button), service requests more often than emergencies (the one-key call is also how
  residents order meals, escorts, cleaning), calls to family, and rarer falls, silent devices
  and low batteries. About 0.6 alarms per home per day in all.

``multiplier`` scales telemetry, events and alarms (not the heartbeat, which is configuration);
``alarm_multiplier`` scales alarms on top of it: 2000 homes at ``alarm_multiplier=1000`` raise
about 14 alarms a second, a city's worst hour, while the rest of their traffic stays normal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from protocol import AlarmKind

DAY_S = 86_400.0
MONTH_S = 30 * DAY_S

ALARMS_PER_MONTH: Mapping[AlarmKind, float] = MappingProxyType(
    {
        AlarmKind.EMERGENCY_CALL: 3.0,
        AlarmKind.SERVICE_REQUEST: 8.0,
        AlarmKind.FAMILY_CALL: 4.0,
        AlarmKind.FALL: 0.5,
        AlarmKind.DEVICE_SILENT: 1.0,
        AlarmKind.LOW_BATTERY: 1.0,
    }
)


@dataclass(frozen=True)
class HomeRates:
    heartbeat_s: float = 30.0
    telemetry_per_min: float = 2.0
    events_per_day: float = 4.0
    alarms_per_month: Mapping[AlarmKind, float] = field(default_factory=lambda: ALARMS_PER_MONTH)
    multiplier: float = 1.0
    alarm_multiplier: float = 1.0

    def __post_init__(self) -> None:
        if self.heartbeat_s < 1 or min(self.multiplier, self.alarm_multiplier) < 0:
            raise ValueError("heartbeat_s must be at least 1 s and multipliers not negative")

    @property
    def telemetry_per_s(self) -> float:
        return self.telemetry_per_min / 60.0 * self.multiplier

    @property
    def events_per_s(self) -> float:
        return self.events_per_day / DAY_S * self.multiplier

    @property
    def alarms_per_s(self) -> float:
        scale = self.multiplier * self.alarm_multiplier
        return sum(self.alarms_per_month.values()) / MONTH_S * scale

    def messages_per_s(self) -> float:
        """Uplink messages a home sends per second on average (first transmissions)."""
        return 1.0 / self.heartbeat_s + self.telemetry_per_s + self.events_per_s + self.alarms_per_s
