"""The centre's fall detection for cloud wearables: samples per second through a FallBank.

W wearers, each a 50 Hz SisFall recording (every wearer its own trial, back to back, so the
streams differ and hold falls), arrive in 1 s batches on the wearers' own clocks: every batch
goes through ``FallBank.feed`` (one resampler per wearer) and each round of W batches through
one ``FallBank.step`` (the gateway's detector, all wearers vectorised). The first round, in
which every wearer's detector starts on its own, is not timed; nor is decoding the JSON
payloads. Prints where the time goes: resampling is per wearer, detection is
vectorised, so the first is the limit.

    .venv/bin/python -m bench.cloud_falls [--wearers 2000] [--seconds 20]
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

import numpy as np  # noqa: E402

from gateway.detect.fall_bank import FallBank  # noqa: E402
from gateway.evaluate_sisfall import load_trials  # noqa: E402

RATE_HZ = 50  # the trials' block means are on the detector's 50 Hz grid


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cloud_falls")
    parser.add_argument("--wearers", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    trials = load_trials()
    n = args.seconds * RATE_HZ
    streams = []
    for w in range(args.wearers):
        pieces, length, k = [], 0, w
        while length < n:
            pieces.append(trials[k % len(trials)].acc)
            length += len(pieces[-1])
            k += 97  # stride through the trials: falls and activities, many subjects
        streams.append(np.concatenate(pieces)[:n])
    bank = FallBank()
    feed_s = step_s = 0.0
    falls = 0
    for lo in range(0, n, RATE_HZ):
        t = 1000.0 + np.arange(lo, lo + RATE_HZ) / RATE_HZ
        started = time.perf_counter()
        for w, acc in enumerate(streams):
            bank.feed(str(w), t, acc[lo : lo + RATE_HZ])
        fed = time.perf_counter()
        falls += len(bank.step())
        if lo:  # steady state: the first round starts every wearer's detector alone
            step_s += time.perf_counter() - fed
            feed_s += fed - started
    samples = args.wearers * (n - RATE_HZ)
    total = feed_s + step_s
    print(f"falls decided: {falls}; resampling {feed_s:.2f} s, detection {step_s:.2f} s")
    print(
        f"cloud_falls: wearers={args.wearers} samples_per_s={samples / total:.0f}"
        f" detect_samples_per_s={samples / step_s:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
