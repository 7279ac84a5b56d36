"""The resampler: exact grid, chunking invisible, input faults handled, impacts kept."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from gateway.detect.resample import (
    ResampleState,
    Segment,
    TimeOrderError,
    initial_resample_state,
    resample,
)

Array = NDArray[np.float64]
RATE = 50.0
_PROPERTY = settings(max_examples=150, deadline=None)


def feed(
    t: Array, acc: Array, sizes: Sequence[int] = (), rate: float = RATE
) -> tuple[ResampleState, list[Segment]]:
    """Feed in chunks of ``sizes`` (cycled; whole if empty); all pieces, in order."""
    state = initial_resample_state()
    pieces: list[Segment] = []
    lo, i = 0, 0
    while lo < len(t) or lo == 0:
        hi = len(t) if not sizes else lo + sizes[i % len(sizes)]
        state, out = resample(state, t[lo:hi], acc[lo:hi], rate)
        pieces += out
        lo, i = hi, i + 1
    return state, pieces


def joined(pieces: list[Segment], rate: float = RATE) -> list[tuple[float, Array]]:
    """Pieces joined into whole segments; checks that continuations sit exactly on the grid."""
    segments: list[tuple[float, Array]] = []
    numbers: list[int] = []
    for piece in pieces:
        assert piece.acc.ndim == 2
        assert piece.acc.shape[1] == 3
        assert len(piece.acc) > 0
        if numbers and piece.number == numbers[-1]:
            t_start, acc = segments[-1]
            assert piece.t_start == t_start + len(acc) / rate  # exactly anchor + k / rate
            segments[-1] = (t_start, np.concatenate([acc, piece.acc]))
        else:
            assert piece.number == len(numbers)  # numbered 0, 1, 2 ... in order
            numbers.append(piece.number)
            segments.append((piece.t_start, piece.acc))
    return segments


def assert_same(a: list[tuple[float, Array]], b: list[tuple[float, Array]]) -> None:
    assert len(a) == len(b)
    for (ta, xa), (tb, xb) in zip(a, b, strict=True):
        assert ta == tb
        assert xa.shape == xb.shape
        assert xa.tobytes() == xb.tobytes()  # bit for bit


def messy_input(seed: int = 3, n: int = 900) -> tuple[Array, Array]:
    """Irregular 20..200 Hz with NaN rows, repeated timestamps and one 1.5 s gap."""
    rng = np.random.default_rng(seed)
    step = 1.0 / rng.uniform(20, 200, n)
    step[400] = 1.5
    step[rng.choice(n, 20, replace=False)] = 0.0  # repeated timestamps
    t = 1000.0 + np.cumsum(step)
    acc = rng.normal(0, 1.5, (n, 3))
    acc[rng.choice(n, 15, replace=False), rng.integers(0, 3, 15)] = np.nan
    acc[17] = np.inf
    return t, acc


def test_grid_sits_at_first_sample_plus_k_over_rate_and_waits_for_complete_cells() -> None:
    t = np.arange(101) / 100.0  # 0 .. 1.0 s at 100 Hz
    acc = np.column_stack([t, 2 * t, np.ones_like(t)])
    _, pieces = feed(t, acc)
    [(t_start, grid)] = joined(pieces)
    assert t_start == 0.0
    # Grid k is emitted once its cell [k - 0.5, k + 0.5) / 50 ends at or before 1.0 s.
    assert len(grid) == 50
    t_grid = t_start + np.arange(50) / RATE
    # Two samples per cell at t_grid - 0.01 and t_grid: their mean is the ramp 5 ms early.
    np.testing.assert_allclose(grid[1:, 0], t_grid[1:] - 0.005, atol=1e-12)
    np.testing.assert_allclose(grid[:, 2], 1.0)


def test_upsampling_interpolates_linearly_at_grid_times() -> None:
    rng = np.random.default_rng(0)
    t = 3.25 + np.cumsum(1.0 / rng.uniform(20, 40, 200))
    acc = np.column_stack([2 * t - 1, -t, 0.5 * t + 3])
    _, pieces = feed(t, acc)
    [(t_start, grid)] = joined(pieces)
    t_grid = t_start + np.arange(len(grid)) / RATE
    assert t_start == t[0]
    assert t_grid[-1] < t[-1]
    np.testing.assert_allclose(grid, np.column_stack([2 * t_grid - 1, -t_grid, 0.5 * t_grid + 3]))


def test_cell_with_several_samples_gives_their_mean() -> None:
    t = np.arange(41) / 200.0  # four samples per 20 ms cell
    acc = np.random.default_rng(1).normal(size=(41, 3))
    _, pieces = feed(t, acc)
    [(_, grid)] = joined(pieces)
    # Cell of grid 3 is [50, 70) ms: input samples 10..13.
    np.testing.assert_allclose(grid[3], acc[10:14].mean(axis=0), rtol=1e-14)


@pytest.mark.parametrize("sizes", [[1], [7], [64], [3, 1, 50, 2]])
def test_chunks_give_bit_identical_segments_and_counts(sizes: list[int]) -> None:
    t, acc = messy_input()
    whole_state, whole = feed(t, acc)
    state, pieces = feed(t, acc, sizes)
    assert_same(joined(pieces), joined(whole))
    assert len(joined(whole)) == 2
    assert (state.dropped_nan, state.dropped_duplicates, state.gaps) == (
        whole_state.dropped_nan,
        whole_state.dropped_duplicates,
        whole_state.gaps,
    )
    assert state.next_k == whole_state.next_k
    assert state.t.tobytes() == whole_state.t.tobytes()


@_PROPERTY
@given(
    steps=st.lists(st.floats(1 / 200, 1 / 20), min_size=1, max_size=300),
    gaps=st.lists(st.integers(0, 299), max_size=2),
    t0=st.floats(0, 1e5),
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=8),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_chunking_of_irregular_input_gives_the_whole_output(
    steps: list[float], gaps: list[int], t0: float, sizes: list[int], seed: int
) -> None:
    step = np.array(steps)
    step[[g for g in gaps if g < len(step)]] = 2.0
    t = t0 + np.cumsum(step)
    acc = np.random.default_rng(seed).uniform(-16, 16, (len(t), 3))
    _, whole = feed(t, acc)
    _, pieces = feed(t, acc, sizes)
    assert_same(joined(pieces), joined(whole))
    for t_start, grid in joined(whole):  # every grid sample lies within its input
        assert t[0] <= t_start
        assert t_start + (len(grid) - 1) / RATE <= t[-1]


def test_rows_with_nan_or_inf_are_dropped_and_counted() -> None:
    rng = np.random.default_rng(2)
    t = np.arange(300) / 120.0
    acc = rng.normal(size=(300, 3))
    bad = acc.copy()
    bad[[5, 6, 100], 1] = np.nan
    bad[200, 2] = -np.inf
    t_bad = t.copy()
    t_bad[50] = np.nan
    state, pieces = feed(t_bad, bad, [13])
    keep = np.ones(300, bool)
    keep[[5, 6, 100, 200, 50]] = False
    _, clean = feed(t[keep], acc[keep])
    assert_same(joined(pieces), joined(clean))
    assert state.dropped_nan == 5
    assert all(np.isfinite(p.acc).all() for p in pieces)


def test_repeated_timestamps_keep_the_first_row() -> None:
    t = np.repeat(np.arange(100) / 60.0, 2)
    acc = np.random.default_rng(4).normal(size=(200, 3))
    state, pieces = feed(t, acc, [3])  # some repeats straddle a chunk boundary
    _, firsts = feed(t[::2], acc[::2])
    assert_same(joined(pieces), joined(firsts))
    assert state.dropped_duplicates == 100


@pytest.mark.parametrize("sizes", [[], [4]])
def test_time_going_backwards_raises_and_leaves_the_state_alone(sizes: list[int]) -> None:
    t = np.arange(10) / 50.0
    t[6] = t[2]
    acc = np.zeros((10, 3))
    state, _ = resample(initial_resample_state(), t[:1], acc[:1], RATE)
    with pytest.raises(TimeOrderError) as caught:
        feed(t, acc, sizes)
    assert caught.value.index == (6 if not sizes else 2)  # row within the failing call
    assert isinstance(caught.value, ValueError)
    assert "backwards" in str(caught.value)
    with pytest.raises(TimeOrderError):
        resample(state, np.array([-1.0]), np.zeros((1, 3)), RATE)
    assert state.t.tolist() == [0.0]  # the caller's state is untouched


def test_a_long_gap_ends_the_segment_and_the_next_starts_at_the_next_sample() -> None:
    t = np.concatenate([np.arange(201) / 100.0, 4.013 + np.arange(200) / 100.0])
    acc = np.column_stack([t, t, t])
    state, pieces = feed(t, acc, [64])
    (t1, grid1), (t2, grid2) = joined(pieces)
    assert state.gaps == 1
    assert (t1, t2) == (0.0, 4.013)
    assert t1 + (len(grid1) - 1) / RATE == 2.0  # the old segment is flushed up to its end
    assert grid1[:, 0].max() <= 2.0
    assert grid2[:, 0].min() >= 4.013
    assert pieces[-1].number == 1


def test_rate_change_mid_stream_stays_on_one_grid() -> None:
    t = np.concatenate([np.arange(400) / 200.0, 2.0 + np.arange(1, 41) / 20.0])
    acc = np.column_stack([t, np.sin(t), np.ones_like(t)])
    _, pieces = feed(t, acc, [25])
    [(t_start, grid)] = joined(pieces)  # one segment: the grid never restarts
    t_grid = t_start + np.arange(len(grid)) / RATE
    assert len(grid) == 200  # 0 .. 3.98 s: the last cell ends at 3.99 s <= 4.0 s
    # A cell mean stays within its cell; interpolation (one sample per cell or none) is exact.
    np.testing.assert_allclose(grid[:, 0], t_grid, atol=0.5 / RATE)
    np.testing.assert_allclose(grid[t_grid > 2.05, 0], t_grid[t_grid > 2.05], atol=1e-12)


def test_downsampling_keeps_a_short_impact_visible() -> None:
    t = np.arange(2000) / 200.0
    acc = np.tile([0.0, 0.0, 1.0], (2000, 1))
    # A 40 ms half-sine impact (8 samples from 4.015 s) peaking near 5 g, across grid cells.
    acc[803:811, 2] = 1.0 + 4.0 * np.sin(np.pi * (np.arange(8) + 0.5) / 8)
    _, pieces = feed(t, acc, [7])
    [(_, grid)] = joined(pieces)
    assert np.linalg.norm(grid, axis=1).max() > 2.0
    assert np.linalg.norm(grid, axis=1).max() > 3.0  # in fact most of it survives


def test_bad_arguments_are_refused() -> None:
    state = initial_resample_state()
    with pytest.raises(ValueError, match="expected"):
        resample(state, np.zeros(3), np.zeros((3, 2)), RATE)
    with pytest.raises(ValueError, match="rate_hz"):
        resample(state, np.zeros(1), np.zeros((1, 3)), 0.0)
    state, _ = resample(state, np.zeros(1), np.zeros((1, 3)), RATE)
    with pytest.raises(ValueError, match="changed"):
        resample(state, np.ones(1), np.zeros((1, 3)), 100.0)


def test_empty_input_changes_nothing() -> None:
    state, pieces = resample(initial_resample_state(), np.zeros(0), np.zeros((0, 3)), RATE)
    assert pieces == []
    assert state.segment == -1
