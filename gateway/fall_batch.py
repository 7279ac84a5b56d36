"""Many recordings through the fall detector side by side, each ended as a stream ends.

The evaluations (:mod:`gateway.evaluate_sisfall`, :mod:`gateway.evaluate_rates`) run
thousands of recordings as the streams of one :func:`~gateway.detect.fall.detect` call, padded
to a common length with their last sample. Each recording must still be judged as
``python -m gateway.replay`` judges a file: its stream ends at its last sample, where
:func:`~gateway.detect.fall.finish` decides the candidates still held. So the padded block is
fed in pieces cut at every recording's length, and after each cut ``finish`` is asked about
the streams that end there (on a copy: the padded streams go on). Detection is the same
however the samples are cut, so the cuts change nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from gateway.detect.fall import FallConfig, FallEvent, detect, finish, initial_state

Array = NDArray[np.float64]


@dataclass(frozen=True)
class BatchRun:
    """Falls of every recording; an event's ``stream`` is its recording's index."""

    events: list[list[FallEvent]]  # per recording, decided within it (``ended`` included)
    late: list[FallEvent]  # decided in the padding, after the recording ended: not counted
    ended: list[FallEvent]  # decided by ``finish`` at the recording's last sample


def _batches(order: list[int], size: int) -> Iterator[list[int]]:
    for lo in range(0, len(order), size):
        yield order[lo : lo + size]


def run_recordings(
    grids: Sequence[Array], t_start: Sequence[float], config: FallConfig, batch: int = 1024
) -> BatchRun:
    """Detect falls in ``grids[i]`` ((n_i, 3) g on the ``config.rate_hz`` grid, first sample
    at ``t_start[i]`` s), each a fresh stream that ends at its last sample."""
    run = BatchRun([[] for _ in grids], [], [])
    order = sorted(range(len(grids)), key=lambda i: len(grids[i]))
    for chunk in _batches([i for i in order if len(grids[i])], batch):
        _run_chunk(run, chunk, grids, t_start, config)
    return run


def _run_chunk(
    run: BatchRun,
    chunk: list[int],
    grids: Sequence[Array],
    t_start: Sequence[float],
    config: FallConfig,
) -> None:
    lengths = np.array([len(grids[i]) for i in chunk])
    n = int(lengths.max())
    acc = np.stack([np.pad(grids[i], ((0, n - len(grids[i])), (0, 0)), "edge") for i in chunk])
    starts = np.array([t_start[i] for i in chunk], dtype=np.float64)
    state, lo = initial_state(starts), 0
    for end in np.unique(lengths).tolist():
        state, found = detect(state, acc[:, lo:end], config)
        lo = end
        for e in found:
            i = chunk[e.stream]
            if round((e.t_detect - starts[e.stream]) * config.rate_hz) < lengths[e.stream]:
                run.events[i].append(replace(e, stream=i))
            else:
                run.late.append(replace(e, stream=i))
        _, decided = finish(state, config)
        for e in decided:
            if lengths[e.stream] == end:
                i = chunk[e.stream]
                run.events[i].append(replace(e, stream=i))
                run.ended.append(replace(e, stream=i))
