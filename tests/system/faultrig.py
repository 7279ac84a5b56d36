"""A rig for the fault tests (``test_faults_*.py``): its own centre and homes on real parts.

Each fault test gets its own mosquitto (so restarting it disturbs no other test), its own
server process (SQLite, or a database on the session's PostgreSQL), and homes whose gateway
is a real ``python -m gateway`` process with a simulated call button on a real pty, behind a
:class:`~firmware_sim.faults.FaultyPort` (so the cable can be pulled) and, if asked, a
:class:`~onebox.partition.Partition` (so the uplink can be cut).

The verdict is read at the centre: every press is one alarm, none missing, none doubled, and
the gateway's outbox is empty (nothing is left that could still be resent as a duplicate).
"""

from __future__ import annotations

import secrets
import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from firmware_sim.faults import FaultLog, FaultyPort
from firmware_sim.ports import PtyPort
from firmware_sim.serial_device import CallButton, Press

from edge.serial.payloads import AckStage, KeyKind
from onebox.broker import Broker
from onebox.console_client import ConsoleClient
from onebox.net import wait_for
from onebox.partition import Partition
from onebox.stack import Accounts, GatewayProcess, ServerProcess


@dataclass
class FaultCentre:
    workdir: Path
    accounts: Accounts
    broker: Broker
    server: ServerProcess
    operator_password: str
    _console: ConsoleClient | None = None

    @property
    def console(self) -> ConsoleClient:
        """A logged-in console (the session token lives in the database, so it outlives a
        server restart)."""
        if self._console is None:
            self._console = ConsoleClient(self.server.url, "operator", self.operator_password)
        return self._console

    def alarms(self, **filters: str) -> list[dict[str, Any]]:
        """Every alarm at the centre (all pages, along the cursor: each alarm once, however
        many arrive meanwhile), filtered on equal fields."""
        every = self.console.every_alarm()
        return [a for a in every if all(a.get(k) == v for k, v in filters.items())]


@contextmanager
def fault_centre(workdir: Path, *, database_url: str | None = None) -> Iterator[FaultCentre]:
    accounts = Accounts()
    broker = Broker(workdir / "mosquitto", accounts.broker_accounts()).start()
    password = secrets.token_urlsafe(12)
    server = ServerProcess(
        workdir, broker, accounts, database_url=database_url, admin_password=password
    )
    centre = FaultCentre(workdir, accounts, broker, server, password)
    try:
        server.start()
        yield centre
    finally:
        if centre._console is not None:
            centre._console.close()
        server.stop()
        broker.stop()
    server.service.assert_clean()


@dataclass
class FaultHome:
    """One home: a gateway process, a call button on a pluggable pty, maybe a cuttable uplink."""

    gateway_id: str
    device_id: str
    gateway: GatewayProcess
    port: FaultyPort
    button: CallButton
    faults: FaultLog
    partition: Partition | None
    presses: list[Press] = field(default_factory=list)

    def press(self, key: KeyKind = KeyKind.EMERGENCY) -> Press:
        press = self.button.press(key)
        self.presses.append(press)
        return press

    def stored(self, press: Press, timeout: float = 20) -> bool:
        """The gateway has it on disk (it answered RECEIVED, or more)."""
        return self.button.wait_for(lambda: bool(press.stages), timeout)

    def at_centre(self, press: Press, timeout: float = 20) -> bool:
        return self.button.wait_for_stage(press, AckStage.AT_CENTRE, timeout)

    def pending(self) -> int:
        """Messages in the gateway's outbox not yet confirmed by the centre (read from disk)."""
        path = self.gateway.data_dir / "outbox.sqlite3"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            sql = "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND cancelled_at IS NULL"
            return int(db.execute(sql).fetchone()[0])

    def kill(self) -> None:
        """kill -9: no goodbye, no flush beyond what was committed."""
        self.gateway.service.kill()

    def restart(self) -> None:
        self.gateway.start()


@contextmanager
def fault_home(
    centre: FaultCentre,
    name: str,
    *,
    via_partition: bool = False,
    button_heartbeat_s: float = 5.0,
    resend_interval_s: float = 1.0,
    settings: dict[str, str] | None = None,
    expected_problems: Sequence[str] = (),
) -> Iterator[FaultHome]:
    """A home for ``centre``; its gateway has answered the button before this yields.

    ``expected_problems``: ERROR lines the test provokes on purpose (and checks for itself)."""
    gateway_id, device_id = f"gw-{name}", f"call-{name}"
    centre.broker.add_account(gateway_id, centre.accounts.for_gateway(gateway_id))
    faults = FaultLog()
    port = FaultyPort(PtyPort(centre.workdir / f"tty-{name}"), device_id, faults)
    gateway = GatewayProcess(
        centre.workdir,
        centre.broker,
        centre.accounts,
        gateway_id=gateway_id,
        home_id=f"home-{name}",
        serial_devices={device_id: str(port.port.link)},  # type: ignore[attr-defined]
        z2m_devices={},
        resend_interval_s=resend_interval_s,
    )
    partition = None
    if via_partition:
        partition = Partition(centre.broker.host, centre.broker.port).start()
        gateway.service.env["GATEWAY_MQTT_PORT"] = str(partition.port)
    gateway.service.env.update(settings or {})
    gateway.start()
    button = CallButton(port, heartbeat_s=button_heartbeat_s)
    home = FaultHome(gateway_id, device_id, gateway, port, button, faults, partition)
    button.start()
    try:
        assert button.link_up.wait(20), gateway.service.tail()
        yield home
    finally:
        button.stop()
        gateway.stop()
        port.close()
        if partition is not None:
            partition.stop()
    gateway.service.assert_clean(expected_problems)


@dataclass(frozen=True)
class Verdict:
    pressed: int
    delivered: int
    lost: int
    duplicates: int
    latencies_s: tuple[float, ...]


def wait_delivered(centre: FaultCentre, home: FaultHome, timeout: float = 40) -> Verdict:
    """Wait until every press is at the centre and the outbox is empty, then count."""

    def settled() -> bool:
        seqs = {a["origin"].get("frame_seq") for a in centre.alarms(device_id=home.device_id)}
        return {p.seq for p in home.presses} <= seqs and home.pending() == 0

    wait_for(settled, timeout, f"every press of {home.device_id} at the centre", step=0.5)
    return verdict(centre, home)


def verdict(centre: FaultCentre, home: FaultHome) -> Verdict:
    alarms = centre.alarms(device_id=home.device_id)
    per_seq = Counter(a["origin"].get("frame_seq") for a in alarms)
    pressed = {p.seq: p for p in home.presses}
    lost = sum(1 for seq in pressed if per_seq[seq] == 0)
    # A press raised twice, or an alarm no press explains (a repeat taken for a new press).
    duplicates = sum(n - 1 for seq, n in per_seq.items() if seq in pressed and n > 1)
    duplicates += sum(n for seq, n in per_seq.items() if seq not in pressed)
    first_received = {
        a["origin"].get("frame_seq"): datetime.fromisoformat(a["received_at"]).timestamp()
        for a in alarms
    }
    latencies = tuple(
        first_received[seq] - press.written_at
        for seq, press in pressed.items()
        if seq in first_received
    )
    return Verdict(len(pressed), len(pressed) - lost, lost, duplicates, latencies)
