"""Fuzz every boundary parser with a million inputs each; no exception may escape.

Parsers: the serial frame reader (byte streams of garbage, damaged and valid frames), the
serial payload decoders (every frame type), the Zigbee2MQTT bridge and its converters, the
wire codec (every message type, both directions) and, behind it, the server's uplink handler
on a real SQLite store (fewer inputs: it commits every message). Inputs are mutated valid
examples plus pure random bytes, deterministic given ``--seed``. Prints a table per parser
(accepted, rejected by the parser's own reason codes, crashes), saves the first input of each
distinct crash under ``--out`` and exits 1 if there was any.

    .venv/bin/python -m bench.fuzz [--seed 1] [--inputs 1000000] [--ingest-inputs 20000]
    .venv/bin/python -m bench.fuzz --replay var/fuzz/<file>.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.fuzzing.campaign import (
    Tally,
    TargetFactory,
    format_table,
    replay,
    run_target,
    summary_line,
)
from bench.fuzzing.ingest_target import IngestTarget
from bench.fuzzing.mqtt_targets import CodecTarget, Zigbee2MqttTarget
from bench.fuzzing.serial_targets import FrameStreamTarget, PayloadTarget

TARGETS: dict[str, TargetFactory] = {
    FrameStreamTarget.name: FrameStreamTarget,
    PayloadTarget.name: PayloadTarget,
    Zigbee2MqttTarget.name: Zigbee2MqttTarget,
    CodecTarget.name: CodecTarget,
    IngestTarget.name: IngestTarget,
}
SLOW_TARGETS = frozenset({IngestTarget.name})


def run_campaign(
    *,
    seed: int,
    inputs: int,
    ingest_inputs: int,
    out_dir: Path | None,
    only: list[str] | None = None,
) -> list[Tally]:
    """Every target (or those in ``only``) in turn, each with its own seeded stream."""
    tallies = []
    for name, factory in TARGETS.items():
        if only and name not in only:
            continue
        count = ingest_inputs if name in SLOW_TARGETS else inputs
        tallies.append(run_target(name, factory, seed=seed, inputs=count, out_dir=out_dir))
    return tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--inputs", type=int, default=1_000_000, help="per parser")
    parser.add_argument(
        "--ingest-inputs", type=int, default=20_000, help="for the uplink handler (SQLite)"
    )
    parser.add_argument("--only", action="append", choices=sorted(TARGETS), help="repeatable")
    parser.add_argument("--out", type=Path, default=Path("var/fuzz"), help="crashing inputs")
    parser.add_argument("--replay", type=Path, help="run one saved crashing input again")
    args = parser.parse_args(argv)
    if args.replay:
        print(replay(args.replay, TARGETS))
        return 0
    tallies = run_campaign(
        seed=args.seed,
        inputs=args.inputs,
        ingest_inputs=args.ingest_inputs,
        out_dir=args.out,
        only=args.only,
    )
    print(f"seed={args.seed}")
    print("\n".join(format_table(tallies)))
    print(summary_line(tallies))
    return 1 if any(t.crashes for t in tallies) else 0


if __name__ == "__main__":
    sys.exit(main())
