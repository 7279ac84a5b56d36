"""The fall score's cut-offs, chosen on training trials (used by :mod:`gateway.evaluate_sisfall`).

A candidate scoring at least ``score_cutoff`` is a fall at once; one scoring at least
``confirm_cutoff`` is a fall if the wearer is still in the new posture at ``confirm_s`` (see
:class:`~gateway.detect.fall.FallConfig`). Both are chosen by one rule: the pair maximising
sensitivity + specificity of trial alarms, compared exactly (``tp * N + tn * P``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]

# At most this share of the detected training falls may wait for their confirmation: most
# falls must still be decided settle_s after the impact (the p90 delay stays there).
LATE_SHARE = 0.05


def _cuts(best: Array) -> Array:
    """Cut-offs midway between consecutive distinct finite scores, and beyond both ends."""
    finite = np.unique(best[np.isfinite(best)])
    cuts = np.concatenate([[-1e9], (finite[1:] + finite[:-1]) / 2, [1e9]])
    if len(finite):
        cuts[0], cuts[-1] = finite[0] - 1.0, finite[-1] + 1.0
    return cuts


def _counts(best: Array, is_fall: Mask, cuts: Array) -> tuple[NDArray[np.int64], ...]:
    """True positives and true negatives of ``best >= cut`` for every cut."""
    falls, adls = np.sort(best[is_fall]), np.sort(best[~is_fall])
    tp = len(falls) - np.searchsorted(falls, cuts, side="left")
    return tp, np.searchsorted(adls, cuts, side="left")


def choose_cutoffs(
    now_best: Array, held_best: Array, is_fall: Mask, late_share: float = LATE_SHARE
) -> tuple[float, float, float]:
    """``(score_cutoff, confirm_cutoff, (SE + SP) / 2 in %)`` of trial alarms.

    ``now_best`` is each trial's highest gated score, ``held_best`` its highest among the
    gated candidates that would be confirmed (-inf without one). A trial alarms if
    ``now_best >= score_cutoff`` or ``held_best >= confirm_cutoff``; ``confirm_cutoff ==
    score_cutoff`` holds nothing. Among pairs that keep the late falls within
    ``late_share`` (:data:`LATE_SHARE`), ties go to fewer late falls, then to the cut-off nearest 0.
    """
    falls, adls = int(is_fall.sum()), int((~is_fall).sum())
    best: tuple[tuple[int, int, float], float, float] | None = None
    for hi in _cuts(now_best):
        now = now_best >= hi
        los = _cuts(held_best[~now])
        los = np.append(los[los < hi], hi)
        tp, tn = _counts(np.where(now, np.inf, held_best), is_fall, los)
        late = tp - int((now & is_fall).sum())
        ok = np.flatnonzero(late <= late_share * tp)
        key = tp[ok] * adls + tn[ok] * falls
        j = ok[np.lexsort((-late[ok], key))[-1]]  # the best key, then the fewest late
        rank = (int(key.max()), -int(late[j]), -abs(float(hi)))
        if best is None or rank > best[0]:
            best = (rank, float(hi), float(los[j]))
    assert best is not None  # _cuts is never empty
    (key_max, _, _), hi, lo = best
    return hi, lo, round(100.0 * key_max / (falls * adls) / 2, 2)
