"""Many wearers in one vectorised state decide exactly what each decides alone.

Real SisFall trials (falls and daily activities), at different rates, batch lengths and
clock offsets, interleaved in a random order with steps in between; each wearer's falls must
equal, float for float, those of a ``WearerStream`` (the gateway's detector) fed the same
samples.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pytest

from gateway.detect.fall import FallEvent
from gateway.detect.fall_bank import FallBank
from gateway.detect.resample import TimeOrderError, WearerStream
from tests.gateway.detect.test_fall import RAW_HZ, trial

Array = np.ndarray
TRIALS = (
    "F01_SA01_R01",
    "F13_SA01_R01",
    "F05_SA02_R02",
    "D13_SA01_R01",
    "D04_SA01_R01",
    "D07_SE01_R01",
    "F08_SA03_R01",
    "D18_SA02_R01",
)


@dataclass
class Recording:
    wearer: str
    t: Array
    acc: Array
    batch: int  # samples per batch the wearable sends


def recordings(seed: int) -> list[Recording]:
    """Each trial as its own wearer, thinned to 200, 100 or 40 Hz, jittered, on its clock."""
    rng = np.random.default_rng(seed)
    made = []
    for i, trial_id in enumerate(TRIALS):
        every = (1, 2, 5)[i % 3]
        acc = trial(trial_id)[::every]
        t = 500.0 * i + np.arange(len(acc)) * every / RAW_HZ
        t = t + rng.uniform(0, 0.2 * every / RAW_HZ, len(t))  # irregular spacing
        made.append(Recording(f"w{i}-{trial_id}", t, acc, batch=int(rng.integers(1, 120))))
    return made


def alone(rec: Recording) -> list[FallEvent]:
    stream = WearerStream()
    return [
        e
        for lo in range(0, len(rec.t), rec.batch)
        for e in stream.feed(rec.t[lo : lo + rec.batch], rec.acc[lo : lo + rec.batch])
    ]


def together(
    recs: list[Recording], seed: int, bank: FallBank | None = None
) -> dict[str, list[FallEvent]]:
    """All wearers through one bank: batches interleaved at random, steps at random."""
    rng = random.Random(seed)
    bank = bank if bank is not None else FallBank()
    cursor = {r.wearer: 0 for r in recs}
    found: dict[str, list[FallEvent]] = {r.wearer: [] for r in recs}
    live = list(recs)
    while live:
        rec = rng.choice(live)
        lo = cursor[rec.wearer]
        bank.feed(rec.wearer, rec.t[lo : lo + rec.batch], rec.acc[lo : lo + rec.batch])
        cursor[rec.wearer] = lo + rec.batch
        if cursor[rec.wearer] >= len(rec.t):
            live.remove(rec)
        if rng.random() < 0.3:
            for wearer, event in bank.step():
                found[wearer].append(event)
    for wearer, event in bank.step():
        found[wearer].append(event)
    return found


def same(a: list[FallEvent], b: list[FallEvent]) -> bool:
    """Equal but for ``stream``, which is a row in the bank and 0 alone."""
    strip = [(e.t_impact, e.t_detect, e.peak_g, e.angle_deg, e.stillness_g, e.score) for e in a]
    return strip == [
        (e.t_impact, e.t_detect, e.peak_g, e.angle_deg, e.stillness_g, e.score) for e in b
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_many_wearers_at_once_equal_each_alone(seed: int) -> None:
    recs = recordings(seed)
    expected = {r.wearer: alone(r) for r in recs}
    assert sum(len(v) for v in expected.values()) >= 3  # the falls are found at all
    assert all(expected[r.wearer] for r in recs if "_F" in f"_{r.wearer.split('-')[1]}")
    found = together(recs, seed)
    for rec in recs:
        assert same(found[rec.wearer], expected[rec.wearer]), rec.wearer


def test_a_gap_restarts_only_that_wearer() -> None:
    recs = recordings(4)
    gappy = recs[0]
    cut = len(gappy.t) // 3
    gappy.t = np.concatenate([gappy.t[:cut], gappy.t[cut:] + 5.0])  # a 5 s radio dropout
    found = together(recs, 4)
    for rec in recs:
        assert same(found[rec.wearer], alone(rec)), rec.wearer


def test_forgotten_wearer_frees_its_row_and_the_others_go_on() -> None:
    recs = recordings(5)
    bank = FallBank()
    half = {r.wearer: len(r.t) // 2 for r in recs}
    for rec in recs:
        bank.feed(rec.wearer, rec.t[: half[rec.wearer]], rec.acc[: half[rec.wearer]])
    found = bank.step()
    bank.forget(recs[1].wearer)
    assert bank.wearers == len(recs) - 1
    for rec in recs[2:]:
        bank.feed(rec.wearer, rec.t[half[rec.wearer] :], rec.acc[half[rec.wearer] :])
    found += bank.step()
    for rec in recs[2:]:
        mine = [e for w, e in found if w == rec.wearer]
        assert same(mine, alone(rec)), rec.wearer


def test_time_going_back_is_refused_and_changes_nothing() -> None:
    bank = FallBank()
    rec = recordings(6)[0]
    bank.feed("w", rec.t[:100], rec.acc[:100])
    with pytest.raises(TimeOrderError):
        bank.feed("w", rec.t[:10], rec.acc[:10])
    bank.feed("w", rec.t[100:], rec.acc[100:])
    assert same([e for _, e in bank.step()], alone(Recording("w", rec.t, rec.acc, 10_000)))


def test_an_ended_stream_decides_its_held_fall_as_the_wearer_alone_does() -> None:
    """A wearable gone silent 4.5 s after a soft fall (F08_SA03_R01's faint is held for its
    6 s confirmation): ``end`` decides it on the last sample, as ``WearerStream.finish``;
    every other wearer's end equals its own too, and ends nothing it should not."""
    recs = recordings(1)
    for rec in recs:
        keep = rec.t < rec.t[0] + 12.6  # F08_SA03_R01's impact is at 8.06 s
        rec.t, rec.acc = rec.t[keep], rec.acc[keep]
    expected = {}
    for rec in recs:
        stream = WearerStream()
        expected[rec.wearer] = [
            e
            for lo in range(0, len(rec.t), rec.batch)
            for e in stream.feed(rec.t[lo : lo + rec.batch], rec.acc[lo : lo + rec.batch])
        ] + stream.finish()
    bank = FallBank()
    found = together(recs, 1, bank)
    for rec in recs:
        found[rec.wearer] += bank.end(rec.wearer)
        assert same(found[rec.wearer], expected[rec.wearer]), rec.wearer
    [held] = found["w6-F08_SA03_R01"]
    assert 4.0 <= held.t_detect - held.t_impact < 6.0  # decided at the end, not at 6 s
    assert bank.end("w6-F08_SA03_R01") == []  # once
