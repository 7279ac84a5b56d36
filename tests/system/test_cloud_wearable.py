"""Cloud wearables on real components: mosquitto with the production ACL, a real server
process; simulated wearables (firmware_sim.cloud_wearable) log in with their own accounts and
stream real SisFall recordings as samples messages.

A fall becomes one fall alarm at /api/alarms, with its trace, once the centre's cancel window
(3 s here) has passed; a daily activity raises nothing; a wearable publishing under another
wearable's topic is refused by the broker, so its "fall" raises nothing either. A press after
the prompt cancels a fall.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from firmware_sim.cloud_wearable import CloudWearable

from onebox.broker import Broker
from onebox.console_client import ConsoleClient
from onebox.net import wait_for
from onebox.stack import Accounts, ServerProcess
from protocol.mqtt import BrokerEndpoint
from tests.system.conftest import OPERATOR_PASSWORD
from tests.system.test_fall_loop import recording

WINDOW_S = 3.0


@pytest.fixture(scope="module")
def cloud_centre(
    tmp_path_factory: pytest.TempPathFactory, broker: Broker, accounts: Accounts
) -> Iterator[tuple[ServerProcess, ConsoleClient]]:
    process = ServerProcess(
        tmp_path_factory.mktemp("cloud-centre"),
        broker,
        accounts,
        admin_password=OPERATOR_PASSWORD,
        instance="cloud",
        settings={"SERVER_CLOUD_FALL_CANCEL_WINDOW_S": str(WINDOW_S)},
    ).start()
    console = ConsoleClient(process.url, "operator", OPERATOR_PASSWORD)
    yield process, console
    console.close()
    process.stop()
    process.service.assert_clean()


@pytest.fixture
def wearables(
    broker: Broker, accounts: Accounts, tmp_path: Path
) -> Iterator[dict[str, CloudWearable]]:
    """Three cloud wearables, each with its own broker account, connected; the forger
    publishes as a fourth wearable ("victim") whose account it does not hold."""
    made: dict[str, CloudWearable] = {}
    suffix = tmp_path.name[-12:].lower().replace("_", "-")
    for name in ("fall", "adl", "forger"):
        account = f"wear-{name}-{suffix}"
        broker.add_account(account, accounts.for_gateway(account))
        endpoint = BrokerEndpoint(broker.host, broker.port, account, accounts.for_gateway(account))
        claims = f"wear-victim-{suffix}" if name == "forger" else None
        made[name] = CloudWearable(endpoint, f"home-{name}", claims=claims).start()
    try:
        for wearable in made.values():
            assert wearable.connected.wait(10)
        yield made
    finally:
        for wearable in made.values():
            wearable.stop()


def falls_of(console: ConsoleClient, device_id: str) -> list[dict[str, object]]:
    return [
        a for a in console.alarms(limit=1000) if a["device_id"] == device_id and a["kind"] == "fall"
    ]


def test_a_cloud_wearables_fall_reaches_the_console_once_with_its_trace(
    cloud_centre: tuple[ServerProcess, ConsoleClient], wearables: dict[str, CloudWearable]
) -> None:
    _, console = cloud_centre
    fall, adl, forger = wearables["fall"], wearables["adl"], wearables["forger"]
    # First what must raise nothing: a day's activity, and a fall forged on another's topic.
    adl.play(recording("D13_SA01_R01"), 200.0)  # lying down quickly: the hardest ADL
    forger.play(recording("F05_SA02_R02"), 200.0)
    # Then the real fall. One worker takes batches in arrival order, and the window is the
    # same for all: once this fall is stored, anything the others raised would be too.
    fall.play(recording("F01_SA01_R01"), 200.0)
    wait_for(lambda: len(falls_of(console, fall.wearable_id)) >= 1, 30, "the fall alarm")
    [alarm] = falls_of(console, fall.wearable_id)
    assert alarm["gateway_id"] == fall.wearable_id
    assert falls_of(console, adl.wearable_id) == []
    assert not any(a["device_id"] == forger.wearable_id for a in console.alarms(limit=1000))
    detail = console.get(f"/api/alarms/{alarm['id']}")
    assert detail["priority"] == 0
    trace = detail["trace"]
    assert len(trace["t_s"]) == len(trace["g"]) > 100
    assert min(trace["t_s"]) < 0 < max(trace["t_s"])
    assert max(float(np.linalg.norm(g)) for g in trace["g"]) > 3.0
    # Held for the window (centre's clock) from the detection, then stored.
    held = datetime.fromisoformat(detail["received_at"]) - datetime.fromisoformat(
        detail["gateway_time"]
    )
    assert held.total_seconds() >= WINDOW_S - 0.01
    # During the window the wearable was prompted (its own downlink), for this alarm only.
    [prompt] = fall.prompts
    assert (prompt.body.alarm_id, prompt.body.duration_s) == (alarm["id"], WINDOW_S)
    assert (adl.prompts, forger.prompts) == ([], [])


def test_a_press_after_the_prompt_cancels_the_cloud_fall(
    cloud_centre: tuple[ServerProcess, ConsoleClient], wearables: dict[str, CloudWearable]
) -> None:
    _, console = cloud_centre
    fall, other = wearables["fall"], wearables["adl"]
    fall.play(recording("F01_SA01_R01"), 200.0)
    fall.press()  # "I'm all right", on the wearable's clock after the decision
    fall.play(recording("D01_SA01_R01")[:200], 200.0)  # the batch that carries the press
    other.play(recording("F13_SA01_R01"), 200.0)  # a fall after it, to know the first is done
    wait_for(lambda: len(falls_of(console, other.wearable_id)) == 1, 30, "the other fall")
    assert falls_of(console, fall.wearable_id) == []
    wait_for(
        lambda: any(
            e["device_id"] == fall.wearable_id and e["kind"] == "fall_cancelled"
            for e in console.get("/api/device-events", limit=1000)
        ),
        10,
        "the cancellation at the centre",
    )
