"""The fuzz campaign in small: 20,000 inputs with a fixed seed, so a parser regression fails
``make test``; and the campaign's own machinery (counting, saving, replaying, determinism)."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import pytest

from bench.fuzz import TARGETS, main, run_campaign
from bench.fuzzing.campaign import Case, OracleViolation, Verdict, replay, run_target
from bench.fuzzing.mutate import RAW_JSON, ByteMutator, JsonMutator
from bench.fuzzing.serial_targets import FrameStreamTarget, masked
from edge.serial.framing import START, Frame, FrameReader
from edge.serial.payloads import KeyKind, KeyPress, to_frame

SEED = 20240301
PER_PARSER = 4_900  # x 4 parsers + the handler's 400 = 20,000 inputs


def test_small_campaign_finds_no_crash_and_reaches_both_verdicts(tmp_path: Path) -> None:
    tallies = run_campaign(seed=SEED, inputs=PER_PARSER, ingest_inputs=400, out_dir=tmp_path)

    assert sum(t.inputs for t in tallies) == 20_000
    for t in tallies:
        assert t.crashes == 0, (t.name, dict(t.signatures), [p.read_text() for p in t.saved])
        # The mutator gets past the first check and also breaks things: both sides are hit.
        assert t.accepted > 0, t.name
        assert t.rejected > 0, t.name
        assert t.accepted + t.rejected == t.inputs
    frames = next(t for t in tallies if t.name == FrameStreamTarget.name)
    assert frames.notes["planted_recovered"] > 1_000
    assert {"crc", "oversize", "garbage"} <= frames.reasons.keys()
    assert list(tmp_path.iterdir()) == []


def test_the_same_seed_gives_the_same_inputs() -> None:
    def run(seed: int) -> list[tuple[int, int, dict[str, int]]]:
        tallies = run_campaign(seed=seed, inputs=300, ingest_inputs=0, out_dir=None)
        return [(t.accepted, t.rejected, dict(t.reasons)) for t in tallies]

    assert run(7) == run(7)
    assert run(7) != run(8)


class _Fragile:
    """A target whose parser breaks on inputs starting with 0xFF, or logs an error on 0xEE."""

    name = "fragile"

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def generate(self) -> Case:
        return Case(self._rng.randbytes(3))

    def check(self, case: Case) -> Verdict:
        if case.data[:1] == b"\xff":
            raise KeyError(case.data)
        if case.data[:1] == b"\xee":
            logging.getLogger("fragile").error("swallowed something")
        return Verdict(case.data[:1] < b"\x80", () if case.data[:1] < b"\x80" else ("high",))


def test_crashes_are_counted_saved_once_per_kind_and_replay(tmp_path: Path) -> None:
    tally = run_target("fragile", _Fragile, seed=1, inputs=2_000, out_dir=tmp_path)

    assert tally.crashes > 0
    assert tally.inputs == tally.accepted + tally.rejected + tally.crashes == 2_000
    assert tally.reasons["high"] == tally.rejected
    kinds = {s.split(" at ")[0] for s in tally.signatures}
    assert kinds == {"KeyError", "OracleViolation"}  # the logged error counts as a crash
    assert len(tally.saved) == 2
    for path in tally.saved:
        record = json.loads(path.read_text())
        assert record["target"] == "fragile"
        expected = KeyError if record["signature"].startswith("KeyError") else OracleViolation
        with pytest.raises(expected):
            replay(path, {"fragile": _Fragile})


def test_command_line_prints_the_table_and_the_summary_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--seed", "3", "--inputs", "50", "--ingest-inputs", "5", "--out", str(tmp_path)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(any(line.startswith(name) for line in lines) for name in TARGETS)
    assert lines[-1].startswith(f"fuzz: inputs={4 * 50 + 5} crashes=0 parsers={len(TARGETS)} ")
    assert lines[-1].split()[-1].startswith("inputs_per_s=")


def test_case_survives_its_json_form() -> None:
    case = Case(
        b"\x00\xa5", topic="t", retained=True, ftype=3, cuts=(1,), idle=(2,), planted=((0, 2),)
    )
    assert Case.from_json(json.loads(json.dumps(case.to_json()))) == case


def test_masked_names_the_one_legitimate_loss() -> None:
    press = to_frame(KeyPress(KeyKind.EMERGENCY, 0), 1).encode()
    # A false header whose length covers the press, followed by that false frame's right CRC:
    # the reader must deliver the false frame, and so swallows the press.
    inner = b"\x10\x00\x00" + len(press).to_bytes(2, "little") + press
    false_frame = START + inner + Frame(0x10, 0, press).encode()[-2:]
    assert FrameReader().feed(false_frame) == [Frame(0x10, 0, press)]
    assert masked(false_frame, 2 + len(inner) - len(press))
    assert not masked(b"\x00\x01" + press, 2)
    assert not masked(START + b"\x10\x00\x00\x05\x00" + press, 7)  # its CRC is wrong


def test_mutators_are_reproducible_and_json_stays_text() -> None:
    def outputs(seed: int) -> list[object]:
        rng = random.Random(seed)
        data = ByteMutator(rng)
        text = JsonMutator(rng, ["a", "b"], [1, "x"])
        return [data.mutate(b"abcdef") for _ in range(50)] + [
            text.mutate({"a": [1, {"b": "x"}]}) for _ in range(200)
        ]

    first = outputs(5)
    assert first == outputs(5)
    texts = [t for t in first if isinstance(t, str)]
    assert all("@@raw" not in t for t in texts)  # every raw placeholder was spliced in
    assert any(raw in t for t in texts for raw in RAW_JSON)
