"""A backup receiving centre takes the alarms while the home's own centre is out of reach.

Two centres on real parts, each its own mosquitto and server process (SQLite): the home's
centre, reached through a cuttable uplink (:class:`~onebox.partition.Partition`), and a backup
centre in ``GATEWAY_BACKUP_MQTT_*``. ``GATEWAY_UNDELIVERED_AFTER_S`` is 2 s here
(``GATEWAY_TEST_SHORT_TIMERS``; 60-1800 s in production).

What the test asserts, press by press (counted by the press's frame sequence number):

- before the cut: at the centre once, at the backup never (the backup is not in use);
- during the cut: at the backup exactly once; at the centre at most once, and then under the
  same id. By design the backup's receipt takes it out of the outbox, so it is not sent to the
  centre afterwards (it reaches the centre only if it was in flight when the uplink was cut);
  the home never shows NOT_DELIVERED, the backup having confirmed it in time;
- the first press after the centre is reachable again: at the centre exactly once (while the
  backup is still in use it goes to both, at most once to the backup); the centre's receipt
  lets the backup go;
- the next press: at the centre once, at the backup never (back to the centre alone).

No press is missing from both centres and none is stored twice at either; the outbox ends empty.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.serial.payloads import Indicate, Pattern
from onebox.net import wait_for
from tests.system.faultrig import FaultCentre, FaultHome, fault_centre, fault_home

NAME = "backed"
GATEWAY_ID = f"gw-{NAME}"  # as fault_home names it


@dataclass
class Rig:
    centre: FaultCentre
    backup: FaultCentre
    home: FaultHome


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with (
        fault_centre(tmp_path / "centre") as centre,
        fault_centre(tmp_path / "backup") as backup,
    ):
        password = secrets.token_urlsafe(18)  # its own account at the backup centre
        backup.broker.add_account(GATEWAY_ID, password)
        settings = {
            "GATEWAY_BACKUP_MQTT_HOST": backup.broker.host,
            "GATEWAY_BACKUP_MQTT_PORT": str(backup.broker.port),
            "GATEWAY_BACKUP_MQTT_PASSWORD": password,
            "GATEWAY_UNDELIVERED_AFTER_S": "2",
            "GATEWAY_TEST_SHORT_TIMERS": "true",
        }
        with fault_home(centre, NAME, via_partition=True, settings=settings) as home:
            yield Rig(centre, backup, home)


def stored_at(centre: FaultCentre, home: FaultHome) -> Counter[int]:
    """How often each press (by sequence number) is stored at this centre."""
    return Counter(a["origin"]["frame_seq"] for a in centre.alarms(device_id=home.device_id))


def ids_at(centre: FaultCentre, home: FaultHome) -> dict[int, str]:
    return {a["origin"]["frame_seq"]: a["id"] for a in centre.alarms(device_id=home.device_id)}


def connects(home: FaultHome) -> int:
    return home.gateway.service.log_path.read_text().count("connected to the centre as")


def test_backup_centre_takes_alarms_while_the_centre_is_cut_off_then_lets_go(rig: Rig) -> None:
    centre, backup, home = rig.centre, rig.backup, rig.home
    assert home.partition is not None
    log = home.gateway.service.log_path

    before = home.press()
    assert home.at_centre(before)

    home.partition.cut()
    during = home.press()
    assert home.stored(during)
    wait_for(lambda: stored_at(backup, home)[during.seq] == 1, 30, "the alarm at the backup")
    assert home.at_centre(during)  # the backup's receipt: the button shows it got through
    wait_for(lambda: home.pending() == 0, 10, "the outbox emptied by the backup's receipt")

    home.partition.heal()
    wait_for(lambda: connects(home) >= 2, 30, "the gateway back on the centre's broker")
    first_back = home.press()
    wait_for(lambda: stored_at(centre, home)[first_back.seq] == 1, 30, "the centre has it")
    wait_for(lambda: "the backup centre is no longer used" in log.read_text(), 10, "let go")
    after = home.press()
    assert home.at_centre(after)
    wait_for(lambda: home.pending() == 0, 10, "every alarm confirmed")

    at_centre, at_backup = stored_at(centre, home), stored_at(backup, home)
    assert (at_centre[before.seq], at_backup[before.seq]) == (1, 0)
    assert at_backup[during.seq] == 1
    assert at_centre[during.seq] <= 1
    if at_centre[during.seq]:
        assert ids_at(centre, home)[during.seq] == ids_at(backup, home)[during.seq]
    assert at_centre[first_back.seq] == 1
    assert at_backup[first_back.seq] <= 1
    assert (at_centre[after.seq], at_backup[after.seq]) == (1, 0)
    assert set(at_centre) | set(at_backup) == {before.seq, during.seq, first_back.seq, after.seq}
    assert Pattern.NOT_DELIVERED not in [
        Pattern(p.led) for p in home.button.received if isinstance(p, Indicate)
    ]
    text = log.read_text()
    assert text.count("to the backup centre") >= 1
    assert text.count("sending unconfirmed alarms to the backup centre") == 1
