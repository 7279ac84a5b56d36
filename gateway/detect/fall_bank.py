"""Many wearers' fall detectors as one vectorised state: the centre's cloud wearables.

The gateway runs one :class:`~gateway.detect.resample.WearerStream` per wearable. A centre
hears thousands of wearables at once, each at its own rate and pace, so :class:`FallBank`
keeps one resampler per wearer (cheap, vectorised over a batch's samples) and **one**
:class:`~gateway.detect.fall.FallState` for all of them: row ``i`` of every array is one
wearer. :meth:`FallBank.step` runs :func:`~gateway.detect.fall.detect`, the gateway's own
detector with the same configuration, over every wearer with grid samples waiting, in as few
calls as there are distinct backlog lengths (usually one: wearables send batches of the same
length).

The detector decides the same whatever the chunking (its tests feed 1, 7, 64 samples and
whole), and every row of its state is computed from that row alone, so a wearer's falls here
are exactly those of a ``WearerStream`` fed the same samples (tested).

A wearer starts on its own row: its first grid samples go through ``detect`` alone, which
starts its filters at rest on its first sample, as a fresh ``WearerStream`` does; from then
on it steps with the rest. After a gap (``max_gap_s``) the detector restarts on the new
segment, as in ``WearerStream``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gateway.detect.fall import (
    FallConfig,
    FallEvent,
    FallState,
    detect,
    finish,
    initial_state,
)
from gateway.detect.resample import (
    ResampleState,
    Segment,
    flush,
    initial_resample_state,
    resample,
)

Array = NDArray[np.float64]
Index = NDArray[np.intp]
_BY_AXES = ("zi_posture", "zi_reference")  # (sections, streams * 3, 2): three rows per stream


def _rows(name: str, idx: Index) -> tuple[slice | Index, ...]:
    """The index of streams ``idx`` in field ``name`` of a FallState."""
    if name in _BY_AXES:
        return (slice(None), (idx[:, None] * 3 + np.arange(3)).reshape(-1))
    return (idx,)


def take(state: FallState, idx: Index) -> FallState:
    """The streams ``idx`` of a primed state, as a state of their own (copies)."""
    parts: dict[str, object] = {}
    for f in fields(state):
        value = getattr(state, f.name)
        if isinstance(value, np.ndarray):
            parts[f.name] = value[_rows(f.name, idx)]
    return replace(state, **parts)  # type: ignore[arg-type]


def put(state: FallState, idx: Index, part: FallState) -> None:
    """Write ``part`` (from :func:`take` and ``detect``) back into streams ``idx``."""
    for f in fields(state):
        value = getattr(state, f.name)
        if isinstance(value, np.ndarray):
            value[_rows(f.name, idx)] = getattr(part, f.name)


def join(state: FallState, more: FallState) -> FallState:
    """``state``'s streams followed by ``more``'s (both primed)."""
    parts: dict[str, object] = {}
    for f in fields(state):
        value = getattr(state, f.name)
        if isinstance(value, np.ndarray):
            axis = 1 if f.name in _BY_AXES else 0
            parts[f.name] = np.concatenate([value, getattr(more, f.name)], axis=axis)
    return replace(state, **parts)  # type: ignore[arg-type]


@dataclass
class _Wearer:
    row: int | None = None  # row in the bank's state, once started
    segment: int = -1  # the resampler's segment the row belongs to
    resampled: ResampleState = field(default_factory=initial_resample_state)
    waiting: list[Array] = field(default_factory=list)  # grid samples not yet detected


class FallBank:
    """The fall detector of many wearers, stepped together.

    Parameters
    ----------
    config : FallConfig, optional
        The detector's configuration; the default is the gateway's.
    max_gap_s : float, optional
        Longest dropout in seconds bridged by interpolation, as in ``WearerStream``.
    """

    def __init__(self, config: FallConfig | None = None, *, max_gap_s: float = 1.0) -> None:
        self.config = config if config is not None else FallConfig()
        self.max_gap_s = max_gap_s
        self._wearers: dict[str, _Wearer] = {}
        self._ids: list[str] = []  # wearer of each row
        self._state: FallState | None = None
        self._fresh: list[tuple[str, FallEvent]] = []  # decided while starting a row

    @property
    def wearers(self) -> int:
        return len(self._wearers)

    def feed(self, wearer: str, t: ArrayLike, acc: ArrayLike) -> None:
        """Queue a wearer's samples at times ``t`` (n,) s, acceleration ``acc`` (n, 3) g.

        Raises :class:`~gateway.detect.resample.TimeOrderError` (changing nothing) if the
        wearer's time goes backwards; :meth:`forget` it to start it afresh.
        """
        w = self._wearers.setdefault(wearer, _Wearer())
        w.resampled, pieces = resample(
            w.resampled, t, acc, self.config.rate_hz, max_gap_s=self.max_gap_s
        )
        self._take(wearer, w, pieces)

    def end(self, wearer: str) -> list[FallEvent]:
        """The wearer's stream has ended (gone silent): the grid samples its resampler held
        back are detected, then a candidate still waiting for its confirmation is decided on
        the last one (:func:`~gateway.detect.fall.finish`), as ``WearerStream.finish`` does.
        Its next samples start a fresh detector on its row. The falls decided, in time order.
        """
        w = self._wearers.get(wearer)
        if w is None:
            return []
        w.resampled, pieces = flush(w.resampled)
        self._take(wearer, w, pieces)
        self._end_segment(wearer, w)
        w.segment = -1
        mine = [e for who, e in self._fresh if who == wearer]
        self._fresh = [(who, e) for who, e in self._fresh if who != wearer]
        return mine

    def _take(self, wearer: str, w: _Wearer, pieces: list[Segment]) -> None:
        for piece in pieces:
            if piece.number != w.segment:  # its first samples, or a gap came first
                self._end_segment(wearer, w)
                self._start(wearer, w, piece.t_start, piece.acc)
                w.segment = piece.number
            else:
                w.waiting.append(piece.acc)

    def forget(self, wearer: str) -> None:
        """Drop a wearer (gone quiet, or restarted): its row is freed."""
        w = self._wearers.pop(wearer, None)
        if w is None or w.row is None or self._state is None:
            return
        keep = np.array([i for i in range(len(self._ids)) if i != w.row], dtype=np.intp)
        self._state = take(self._state, keep)
        del self._ids[w.row]
        for other in self._wearers.values():
            if other.row is not None and other.row > w.row:
                other.row -= 1

    def step(self) -> list[tuple[str, FallEvent]]:
        """Detect over every waiting grid sample; the falls decided, per wearer in time order.

        A returned event's ``stream`` is the wearer's row at the time; name wearers by the
        returned id.
        """
        found, self._fresh = self._fresh, []
        backlog = {
            w.row: np.concatenate(w.waiting)
            for w in self._wearers.values()
            if w.waiting and w.row is not None
        }
        for w in self._wearers.values():
            w.waiting = []
        while backlog and self._state is not None:
            n = min(len(acc) for acc in backlog.values())
            rows = np.array(sorted(backlog), dtype=np.intp)
            block = np.stack([backlog[int(r)][:n] for r in rows])
            everyone = len(rows) == len(self._ids)
            part = self._state if everyone else take(self._state, rows)
            part, events = detect(part, block, self.config)
            if everyone:
                self._state = part
            else:
                put(self._state, rows, part)
            found += [(self._ids[int(rows[e.stream])], e) for e in events]
            backlog = {r: acc[n:] for r, acc in backlog.items() if len(acc) > n}
        return found

    def _end_segment(self, wearer: str, w: _Wearer) -> None:
        """Before the wearer's row restarts (a gap) or its stream ends: detect its waiting
        samples alone, then decide what waits for its confirmation (``finish``), as a
        ``WearerStream`` does at a gap."""
        if w.row is None or self._state is None or w.segment == -1:
            return
        row = np.array([w.row], dtype=np.intp)
        part = take(self._state, row)
        events: list[FallEvent] = []
        if w.waiting:
            part, events = detect(part, np.concatenate(w.waiting)[None], self.config)
            w.waiting = []
        part, ended = finish(part, self.config)
        put(self._state, row, part)
        self._fresh += [(wearer, e) for e in events + ended]

    def _start(self, wearer: str, w: _Wearer, t_start: float, acc: Array) -> None:
        """A fresh detector for the wearer, primed on its own first samples."""
        alone, events = detect(initial_state([t_start]), acc[None], self.config)
        self._fresh += [(wearer, e) for e in events]
        if w.row is not None and self._state is not None:
            put(self._state, np.array([w.row], dtype=np.intp), alone)
        elif self._state is None:
            self._state, w.row = alone, 0
            self._ids = [wearer]
        else:
            self._state = join(self._state, alone)
            w.row = len(self._ids)
            self._ids.append(wearer)
