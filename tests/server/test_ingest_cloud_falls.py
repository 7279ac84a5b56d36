"""The centre's fall flow for cloud wearables, on real SisFall recordings sent as samples
messages: held for the cancel window (injected clock), cancelled by a press after the
decision, else stored once through the normal ingest with its trace; many wearers per round."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import select

from gateway.detect.resample import STREAM_END_S
from protocol import (
    Channel,
    CommandMessage,
    SamplesBody,
    SamplesMessage,
    TopicName,
    decode_downlink,
    encode,
)
from server.centre import Centre
from server.db.models import Alarm, DeviceEvent
from server.ingest.cloud_falls import CloudFalls
from server.ingest.handler import Outgoing, UplinkHandler
from tests.gateway.detect.test_fall import trial
from tests.gateway.stubs import Clock

WINDOW = 30.0
RATE = 200.0
PER_BATCH = 100  # 0.5 s at 200 Hz


class Delivered(list[Outgoing]):
    """What the centre sent: ingest's receipts, and the prompts to wearables."""

    def __init__(self) -> None:
        super().__init__()
        self.prompts: list[CommandMessage] = []

    def topics(self) -> list[str]:
        return [topic for out in self for topic, _ in out.publish]

    def prompted(self, command: CommandMessage) -> bool:
        self.prompts.append(command)
        return True


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def delivered() -> Delivered:
    return Delivered()


@pytest.fixture
def falls(centre: Centre, clock: Clock, delivered: Delivered) -> CloudFalls:
    return build(centre, clock, delivered)


def build(centre: Centre, clock: Clock, delivered: Delivered) -> CloudFalls:
    """The centre's cloud fall flow on ``centre``'s store, its sends kept in ``delivered``."""
    handler = UplinkHandler(centre.sessions, centre.telemetry, clock=clock)
    return CloudFalls(
        handler,
        centre.sessions,
        delivered.append,
        cancel_window_s=WINDOW,
        prompt=delivered.prompted,
        clock=clock,
    )


def batches(
    account: str,
    trial_id: str,
    *,
    presses: dict[int, float] | None = None,
    start_s: float = 3000.0,
) -> Iterator[tuple[str, bytes]]:
    """A wearable sending a recording in 0.5 s batches on its own uptime clock from
    ``start_s``; ``presses``: batch number -> device time of a key press reported with it."""
    acc = trial(trial_id)
    t = start_s + np.arange(len(acc)) / RATE
    for number, lo in enumerate(range(0, len(acc), PER_BATCH)):
        message = SamplesMessage(
            gateway_id=account,
            device_id=account,
            gateway_time=datetime.now(UTC),
            body=SamplesBody(
                home_id="home-7",
                t_s=t[lo : lo + PER_BATCH].tolist(),
                g=[(x, y, z) for x, y, z in acc[lo : lo + PER_BATCH].tolist()],
                presses_s=[(presses or {})[number]] if number in (presses or {}) else [],
            ),
        )
        yield str(TopicName(account, Channel.SAMPLES)), encode(message)


def wear(falls: CloudFalls, clock: Clock, *streams: Iterator[tuple[str, bytes]]) -> None:
    """Every wearable's next batch in one round, as they arrive together; 0.5 s apart."""
    for round_ in zip(*streams, strict=False):
        clock.now += PER_BATCH / RATE
        falls.process(list(round_))
        falls.tick()


def stored_alarms(centre: Centre) -> list[Alarm]:
    with centre.sessions() as session:
        return list(session.scalars(select(Alarm)))


def test_fall_is_held_then_stored_once_with_its_trace(
    falls: CloudFalls, centre: Centre, clock: Clock, delivered: Delivered
) -> None:
    wear(falls, clock, batches("wear-1", "F01_SA01_R01"))
    [hold] = falls.held.by_wearer.values()
    assert stored_alarms(centre) == []  # the wearer may still say "I'm all right"
    clock.now = hold.until - 0.1
    falls.tick()
    assert stored_alarms(centre) == []
    clock.now = hold.until
    falls.tick()
    falls.tick()
    [alarm] = stored_alarms(centre)
    assert (alarm.kind, alarm.gateway_id, alarm.device_id) == ("fall", "wear-1", "wear-1")
    body = alarm.message["body"]
    assert (body["origin"]["transport"], body["origin"]["device_kind"]) == (
        "cloud",
        "cloud_wearable",
    )
    trace = body["trace"]
    assert min(trace["t_s"]) <= -1.9  # two seconds before the impact ...
    assert max(trace["t_s"]) >= 2.0  # ... to the decision
    assert max(float(np.linalg.norm(g)) for g in trace["g"]) > 3.0  # the impact is in it
    [receipt_topic] = delivered.topics()
    assert receipt_topic == "eldercare/v1/wear-1/down/receipt"
    [(_, payload)] = delivered[0].publish
    assert decode_downlink(receipt_topic, payload).body.ref_id == alarm.id  # type: ignore[union-attr]


def test_press_after_the_decision_cancels_the_fall(
    falls: CloudFalls, centre: Centre, clock: Clock
) -> None:
    # Batch 30 (15 s in) is after F01's decision; the press is on the wearable's clock.
    wear(falls, clock, batches("wear-2", "F01_SA01_R01", presses={29: 3014.7}))
    assert falls.held.by_wearer == {}
    clock.now += WINDOW + 1
    falls.tick()
    assert stored_alarms(centre) == []
    with centre.sessions() as session:
        [event] = session.scalars(select(DeviceEvent))
        assert (event.kind, event.device_id) == ("fall_cancelled", "wear-2")


def test_press_before_the_decision_does_not_cancel(
    falls: CloudFalls, centre: Centre, clock: Clock
) -> None:
    wear(falls, clock, batches("wear-3", "F01_SA01_R01", presses={0: 3000.1}))
    [hold] = falls.held.by_wearer.values()
    clock.now = hold.until
    falls.tick()
    assert [a.kind for a in stored_alarms(centre)] == ["fall"]


def test_many_wearers_per_round_each_get_their_own_falls(
    falls: CloudFalls, centre: Centre, clock: Clock
) -> None:
    wear(
        falls,
        clock,
        batches("fall-a", "F01_SA01_R01"),
        batches("adl-b", "D13_SA01_R01"),
        batches("fall-c", "F13_SA01_R01"),
        batches("adl-d", "D04_SA01_R01"),
    )
    assert sorted(falls.held.by_wearer) == ["fall-a/fall-a", "fall-c/fall-c"]
    assert falls.bank.wearers == 4
    clock.now += WINDOW + 1
    falls.tick()
    assert sorted(a.device_id or "" for a in stored_alarms(centre)) == ["fall-a", "fall-c"]


def test_daily_activity_raises_nothing(falls: CloudFalls, centre: Centre, clock: Clock) -> None:
    wear(falls, clock, batches("wear-4", "D07_SE01_R01"))
    clock.now += WINDOW + 1
    falls.tick()
    assert falls.held.by_wearer == {}
    assert stored_alarms(centre) == []


def test_a_full_queue_is_counted_not_blocking(centre: Centre, clock: Clock) -> None:
    handler = UplinkHandler(centre.sessions, centre.telemetry, clock=clock)
    falls = CloudFalls(
        handler, centre.sessions, lambda _: None, cancel_window_s=WINDOW, clock=clock, bound=2
    )
    for topic, payload in [*batches("wear-5", "D01_SA01_R01")][:5]:
        falls.offer(topic, payload)
    assert (falls.backlog, falls.dropped) == (2, 3)


def test_a_payload_that_is_not_samples_is_refused(falls: CloudFalls, clock: Clock) -> None:
    falls.process([("eldercare/v1/wear-6/up/samples", b'{"v": 1}')])
    assert falls.rejected == 1
    assert falls.bank.wearers == 0


def test_a_batch_whose_times_go_backwards_is_refused_and_the_round_goes_on(
    falls: CloudFalls, clock: Clock
) -> None:
    """One broken wearable must not blind the detector to the others in the same round."""
    bad = b'{"v": 1, "type": "samples", "id": "0123456789abcdef0123456789abcdef", '
    bad += b'"gateway_id": "wear-6", "device_id": "wear-6", '
    bad += b'"gateway_time": "2026-11-22T10:00:00Z", "body": {"home_id": "home-6", '
    bad += b'"t_s": [10.0, 10.02, 9.5], "g": [[0, 0, 1], [0, 0, 1], [0, 0, 1]]}}'
    good = next(batches("wear-7", "D01_SA01_R01"))
    falls.process([("eldercare/v1/wear-6/up/samples", bad), good])
    assert falls.rejected == 1
    assert falls.bank.wearers == 1  # wear-7 was fed


def test_a_batch_the_detector_cannot_use_even_afresh_is_dropped_alone(
    falls: CloudFalls, clock: Clock
) -> None:
    """Behind the schema's check: should a batch still be unusable on a fresh detector, it is
    dropped and counted, and the round goes on."""
    body = SamplesBody.model_construct(
        home_id="home-6", t_s=[10.0, 10.02, 9.5], g=[(0, 0, 1)] * 3, presses_s=[]
    )
    broken = SamplesMessage.model_construct(
        gateway_id="wear-6", device_id="wear-6", gateway_time=datetime.now(UTC), body=body
    )
    falls._feed(broken, clock.now)
    assert falls.rejected == 1


def test_a_wearable_silent_after_a_soft_fall_still_raises_it(
    falls: CloudFalls, clock: Clock
) -> None:
    """F08_SA03_R01's faint (impact at 8.06 s) waits 6 s for its confirmation; the wearable
    stops sending 5 s after it. Once silent for STREAM_END_S its stream is ended and the fall
    decided on the last sample sent, as a gateway does."""
    wear(falls, clock, itertools.islice(batches("wear-s", "F08_SA03_R01"), 26))  # to 13 s
    assert falls.held.by_wearer == {}
    silent_from = clock.now
    clock.now = silent_from + STREAM_END_S - 0.1
    falls.tick()
    assert falls.held.by_wearer == {}
    clock.now = silent_from + STREAM_END_S
    falls.tick()
    falls.tick()
    [hold] = falls.held.by_wearer.values()
    assert hold.wearer == "wear-s/wear-s"
    assert hold.alarm.body.trace is not None
