"""Fall detector throughput: many wearers in one vectorised call vs one wearer per call.

S streams of 50 Hz SisFall recordings (block means of 4 raw 200 Hz samples; each stream plays
the trials back to back from its own starting trial, so streams differ and contain falls) go
through ``gateway.detect.fall.detect`` in blocks of 1 s, all streams at once, on one core.
Then a subset of the same streams goes through it one stream per call, same blocks, in the
same process; their events must be identical. Only ``detect`` is timed, not building blocks.
Goal on this machine: 10,000,000 samples/s vectorised, 50x the one-stream-per-call rate.

    .venv/bin/python -m bench.fall_detector [--streams 20000] [--seconds 30] [--per-stream 200]
"""

from __future__ import annotations

import os

# One core, one thread: set before numpy is imported, so its BLAS pools start single.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import argparse  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from operator import attrgetter  # noqa: E402

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from gateway.detect.fall import FallConfig, FallEvent, detect, initial_state  # noqa: E402
from gateway.evaluate_sisfall import load_trials  # noqa: E402

GOAL_SAMPLES_PER_S = 10_000_000
GOAL_SPEEDUP = 50.0


class Playback:
    """Blocks of S streams cut from one long 50 Hz signal, each stream from its own offset."""

    def __init__(self, signal: NDArray[np.float64], starts: NDArray[np.int64], block: int):
        self.signal, self.starts, self.block = signal, starts, block

    def __call__(self, b: int, streams: NDArray[np.int64] | None = None) -> NDArray[np.float64]:
        starts = self.starts if streams is None else self.starts[streams]
        idx = (starts[:, None] + b * self.block + np.arange(self.block)) % len(self.signal)
        return np.asarray(self.signal[idx])


def build_playback(streams: int, block: int) -> Playback:
    trials = load_trials()
    lengths = np.array([len(t.acc) for t in trials])
    trial_start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    signal = np.concatenate([t.acc for t in trials])
    i = np.arange(streams)
    # Stream i starts at trial i mod T; later laps shift by 3 s so no two streams are alike.
    starts = trial_start[i % len(trials)] + (i // len(trials)) * 3 * block
    return Playback(signal, starts.astype(np.int64), block)


def run_vectorised(
    play: Playback, streams: int, blocks: int, config: FallConfig
) -> tuple[float, list[FallEvent]]:
    state, events, elapsed = initial_state(np.zeros(streams)), [], 0.0
    for b in range(blocks):
        acc = play(b)
        started = time.perf_counter()
        state, found = detect(state, acc, config)
        elapsed += time.perf_counter() - started
        events += found
    return elapsed, events


def run_per_stream(
    play: Playback, subset: NDArray[np.int64], blocks: int, config: FallConfig
) -> tuple[float, list[FallEvent]]:
    events, elapsed = [], 0.0
    for s in subset.tolist():
        one = np.array([s])
        state = initial_state(np.zeros(1))
        for b in range(blocks):
            acc = play(b, one)
            started = time.perf_counter()
            state, found = detect(state, acc, config)
            elapsed += time.perf_counter() - started
            events += [replace(e, stream=s) for e in found]
    return elapsed, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--per-stream", type=int, default=200)
    args = parser.parse_args()
    config = FallConfig()
    block = config.samples(1.0)
    blocks = args.seconds
    play = build_playback(args.streams, block)
    subset = np.unique(np.linspace(0, args.streams - 1, args.per_stream).astype(np.int64))
    print(
        f"cpu affinity {sorted(os.sched_getaffinity(0))}; {args.streams} streams x "
        f"{blocks * block} samples ({args.seconds} s at {config.rate_hz:g} Hz), 1 s blocks"
    )

    vec_s, vec_events = run_vectorised(play, args.streams, blocks, config)
    vec_rate = args.streams * blocks * block / vec_s
    print(
        f"vectorised: {vec_s:.2f} s in detect, {vec_rate:,.0f} samples/s, "
        f"{len(vec_events)} fall events"
    )

    one_s, one_events = run_per_stream(play, subset, blocks, config)
    one_rate = len(subset) * blocks * block / one_s
    print(
        f"one stream per call: {len(subset)} streams, {one_s:.2f} s in detect, "
        f"{one_rate:,.0f} samples/s, {len(one_events)} fall events"
    )

    chosen = set(subset.tolist())
    same = [e for e in vec_events if e.stream in chosen]
    key = attrgetter("stream", "t_detect")
    identical = sorted(same, key=key) == sorted(one_events, key=key)
    print(
        f"events identical on the {len(subset)} streams run both ways: {identical} "
        f"({len(same)} events)"
    )
    speedup = vec_rate / one_rate
    print(
        f"goal: {GOAL_SAMPLES_PER_S:,} samples/s and {GOAL_SPEEDUP:g}x; "
        f"got {vec_rate:,.0f} samples/s and {speedup:.1f}x"
    )
    print(
        f"fall_detector: streams={args.streams} samples_per_s={vec_rate:.0f} "
        f"speedup_vs_per_stream={speedup:.1f}"
    )
    if not identical:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
