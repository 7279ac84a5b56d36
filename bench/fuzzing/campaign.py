"""The fuzzing loop: inputs from a target, verdicts counted, crashes kept for replay.

A crash is any exception that escapes a target's ``check``: the parser raised something other
than its documented error type, or an invariant the target checks afterwards was broken
(:class:`OracleViolation`). The first input of each distinct crash (type and place) is written
to the output folder as JSON, so ``python -m bench.fuzz --replay FILE`` reproduces it.
"""

from __future__ import annotations

import json
import logging
import random
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

MAX_SAVED_PER_TARGET = 5


@dataclass(frozen=True, slots=True)
class Case:
    """One input, complete enough to replay.

    ``data`` is what the parser reads (a byte stream, a payload); the other fields are what
    a target needs besides: the MQTT topic and retain flag, the serial frame type, where a
    byte stream is cut into reads (``cuts``), after which reads the line goes idle (``idle``),
    and the byte spans of the valid frames planted in it (``planted``).
    """

    data: bytes
    topic: str = ""
    retained: bool = False
    ftype: int = -1
    cuts: tuple[int, ...] = ()
    idle: tuple[int, ...] = ()
    planted: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        fields = asdict(self)
        fields["data"] = self.data.hex()
        return fields

    @classmethod
    def from_json(cls, fields: dict[str, Any]) -> Case:
        return cls(
            data=bytes.fromhex(fields["data"]),
            topic=fields["topic"],
            retained=fields["retained"],
            ftype=fields["ftype"],
            cuts=tuple(fields["cuts"]),
            idle=tuple(fields["idle"]),
            planted=tuple((a, b) for a, b in fields["planted"]),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the parser made of one input: accepted, or rejected with its own reason codes.

    ``notes`` are further counts worth reporting (frames recovered, partial problems...).
    """

    accepted: bool
    reasons: tuple[str, ...] = ()
    notes: tuple[tuple[str, int], ...] = ()


class OracleViolation(AssertionError):
    """The parser returned, but what it returned breaks an invariant: counted as a crash."""


class Target(Protocol):
    """One boundary parser under fuzzing."""

    name: str

    def generate(self) -> Case: ...

    def check(self, case: Case) -> Verdict: ...


TargetFactory = Callable[[random.Random], Target]


@dataclass
class Tally:
    name: str
    inputs: int = 0
    accepted: int = 0
    rejected: int = 0
    crashes: int = 0
    seconds: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    signatures: Counter[str] = field(default_factory=Counter)
    saved: list[Path] = field(default_factory=list)

    def count(self, verdict: Verdict) -> None:
        if verdict.accepted:
            self.accepted += 1
        else:
            self.rejected += 1
        self.reasons.update(verdict.reasons)
        for key, value in verdict.notes:
            self.notes[key] += value


def target_rng(seed: int, name: str) -> random.Random:
    """Each target's own stream: adding a target does not change the inputs of the others.
    (String seeds are hashed with SHA-512, the same on every run and machine.)"""
    return random.Random(f"{seed}:{name}")


def run_target(
    name: str, factory: TargetFactory, *, seed: int, inputs: int, out_dir: Path | None
) -> Tally:
    """Generate and check ``inputs`` inputs; crashes are counted, never raised."""
    target = factory(target_rng(seed, name))
    tally = Tally(name)
    started = time.perf_counter()
    with _LoggedErrors() as logged:
        for index in range(inputs):
            case = target.generate()
            tally.inputs += 1
            try:
                verdict = target.check(case)
                logged.raise_first()
            except Exception as err:  # a crash is whatever escapes: that is what we count
                _record_crash(tally, err, case, seed, index, out_dir)
                continue
            tally.count(verdict)
        tally.seconds = time.perf_counter() - started
        close = getattr(target, "close", None)
        if callable(close):
            close()
    return tally


class _LoggedErrors(logging.Handler):
    """An error that a parser only logged is a crash too (it was swallowed, not handled).

    While installed, the root logger passes only ERROR and above: the parsers' warnings for
    every refused input would otherwise cost more than the parsing.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self._records: list[logging.LogRecord] = []
        self._level = logging.NOTSET

    def __enter__(self) -> _LoggedErrors:
        root = logging.getLogger()
        self._level = root.level
        root.setLevel(logging.ERROR)
        root.addHandler(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._level)

    def emit(self, record: logging.LogRecord) -> None:
        self._records.append(record)

    def raise_first(self) -> None:
        if self._records:
            record = self._records[0]
            self._records.clear()
            raise OracleViolation(f"logged {record.levelname}: {record.getMessage()}")


def _record_crash(
    tally: Tally, err: Exception, case: Case, seed: int, index: int, out_dir: Path | None
) -> None:
    tally.crashes += 1
    where = traceback.extract_tb(err.__traceback__)[-1]
    signature = f"{type(err).__name__} at {Path(where.filename).name}:{where.lineno}"
    tally.signatures[signature] += 1
    if out_dir is None or tally.signatures[signature] > 1:
        return
    if len(tally.saved) >= MAX_SAVED_PER_TARGET:
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{tally.name}-seed{seed}-{index}.json"
    record = {
        "target": tally.name,
        "seed": seed,
        "index": index,
        "signature": signature,
        "error": repr(err),
        "traceback": traceback.format_exception(err),
        "case": case.to_json(),
    }
    path.write_text(json.dumps(record, indent=1) + "\n")
    tally.saved.append(path)


def replay(path: Path, factories: dict[str, TargetFactory]) -> Verdict:
    """Run one saved input again; a crash raises, with its full traceback."""
    record = json.loads(path.read_text())
    target = factories[record["target"]](random.Random(0))
    with _LoggedErrors() as logged:
        verdict = target.check(Case.from_json(record["case"]))
        logged.raise_first()
    return verdict


def format_table(tallies: Iterable[Tally]) -> list[str]:
    """One row per parser, then its reasons and notes, most frequent first."""
    rows = list(tallies)
    head = f"{'parser':<18}{'inputs':>10}{'accepted':>10}{'rejected':>10}{'crashes':>9}"
    lines = [head + f"{'inputs/s':>10}", "-" * (len(head) + 10)]
    for t in rows:
        rate = t.inputs / t.seconds if t.seconds else 0.0
        lines.append(
            f"{t.name:<18}{t.inputs:>10}{t.accepted:>10}{t.rejected:>10}{t.crashes:>9}{rate:>10.0f}"
        )
    for t in rows:
        lines.append("")
        lines.append(f"{t.name}: rejected by reason: {_counts(t.reasons)}")
        if t.notes:
            lines.append(f"{t.name}: notes: {_counts(t.notes)}")
        for signature, n in t.signatures.most_common():
            lines.append(f"{t.name}: CRASH x{n}: {signature}")
        lines += [f"{t.name}: saved {p}" for p in t.saved]
    return lines


def summary_line(tallies: list[Tally]) -> str:
    inputs = sum(t.inputs for t in tallies)
    crashes = sum(t.crashes for t in tallies)
    seconds = sum(t.seconds for t in tallies)
    rate = inputs / seconds if seconds else 0.0
    return f"fuzz: inputs={inputs} crashes={crashes} parsers={len(tallies)} inputs_per_s={rate:.0f}"


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in counter.most_common()) or "-"
