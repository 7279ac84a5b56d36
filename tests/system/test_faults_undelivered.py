"""The home is told when no alarm can reach the centre, and told again when it is over.

Two ways the centre is out of reach, on real parts (mosquitto, server, gateway process, a
simulated call button on a pty):

- the uplink is cut (:class:`~onebox.partition.Partition`) for longer than
  ``GATEWAY_UNDELIVERED_AFTER_S`` (2 s here, allowed by ``GATEWAY_TEST_SHORT_TIMERS``; the
  production range is 60-1800 s): the button shows NOT_DELIVERED, and when the path returns
  the alarm arrives once and the button is told it is over;
- the centre's broker refuses the gateway's credentials: the button shows NOT_DELIVERED at
  once, without waiting for any alarm to be overdue, the gateway says so in one ERROR line
  however often paho retries, and once the account is fixed the alarm raised meanwhile arrives.

Both ERROR lines are the honest level (an alarm could not be delivered; the gateway's account
is refused), so the tests expect exactly them and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from firmware_sim.serial_device import CallButton

from edge.serial.payloads import AckStage, Indicate, Pattern
from onebox.net import wait_for
from tests.system.faultrig import fault_centre, fault_home, wait_delivered

SHORT_TIMERS = {"GATEWAY_UNDELIVERED_AFTER_S": "2", "GATEWAY_TEST_SHORT_TIMERS": "true"}
OVERDUE = "not confirmed by the centre for"
REFUSED = "the centre's broker refuses the gateway (Not authorized)"


def shown(button: CallButton) -> list[Pattern]:
    """The LED patterns the gateway has told the button to show, in order."""
    return [Pattern(p.led) for p in button.received if isinstance(p, Indicate)]


def shows_not_delivered(button: CallButton) -> bool:
    return Pattern.NOT_DELIVERED in shown(button)


def over_again(button: CallButton) -> bool:
    """NOT_DELIVERED was shown, and then the gateway turned it off."""
    patterns = shown(button)
    return Pattern.NOT_DELIVERED in patterns and patterns[-1] is Pattern.OFF


def error_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if " ERROR " in line]


def test_uplink_cut_shows_not_delivered_and_the_alarm_arrives_once_when_it_returns(
    tmp_path: Path,
) -> None:
    with (
        fault_centre(tmp_path) as centre,
        fault_home(
            centre,
            "undelivered",
            via_partition=True,
            settings=SHORT_TIMERS,
            expected_problems=(OVERDUE,),
        ) as home,
    ):
        assert home.partition is not None
        home.partition.cut()
        press = home.press()
        assert home.stored(press)
        assert home.button.wait_for(lambda: shows_not_delivered(home.button), 20)
        assert AckStage.AT_CENTRE not in press.stages

        home.partition.heal()
        result = wait_delivered(centre, home, timeout=60)
        assert (result.pressed, result.lost, result.duplicates) == (1, 0, 0)
        assert home.at_centre(press)
        assert home.button.wait_for(lambda: over_again(home.button), 20)
        [overdue] = error_lines(home.gateway.service.log_path)
        assert "1 alarm(s) " + OVERDUE in overdue


def test_a_refusing_broker_shows_not_delivered_at_once_and_is_said_once(
    tmp_path: Path,
) -> None:
    wrong = "not-the-password-the-broker-has"
    with (
        fault_centre(tmp_path) as centre,
        fault_home(
            centre,
            "refused",
            settings={"GATEWAY_MQTT_PASSWORD": wrong},
            expected_problems=(REFUSED,),
        ) as home,
    ):
        # No alarm waits yet: the refusal alone tells the home it is not protected.
        assert home.button.wait_for(lambda: shows_not_delivered(home.button), 20)
        press = home.press()
        assert home.stored(press)
        wait_for(lambda: _refusals(centre.broker.workdir) >= 3, 30, "paho's retries")

        centre.broker.add_account(home.gateway_id, wrong)  # the account is put right
        result = wait_delivered(centre, home, timeout=60)
        assert (result.pressed, result.lost, result.duplicates) == (1, 0, 0)
        assert home.button.wait_for(lambda: over_again(home.button), 20)
        [refused] = error_lines(home.gateway.service.log_path)  # one line, several retries
        assert REFUSED in refused


def _refusals(broker_dir: Path) -> int:
    """Connections mosquitto turned away, from its log (it names no client for them; this
    broker has no other client with a wrong password)."""
    lines = (broker_dir / "mosquitto.log").read_text().splitlines()
    return sum(1 for line in lines if "disconnected, not authorised" in line)
