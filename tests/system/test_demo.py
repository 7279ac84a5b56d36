"""``make demo`` as a user runs it (timed): it starts everything, stops everything, and its last
line is the promised summary with nothing lost or doubled."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from onebox import REPO

SUMMARY = re.compile(
    r"^demo: alarms_raised=(\d+) alarms_at_console=(\d+) lost=(\d+) duplicates=(\d+)"
    r" latency_p50_ms=([\d.]+) latency_p99_ms=([\d.]+)$"
)


def test_timed_demo_ends_with_the_summary_line(tmp_path: Path) -> None:
    env = {**os.environ, "DEMO_SECONDS": "10", "DEMO_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "onebox.demo"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    match = SUMMARY.match(lines[-1])
    assert match, lines[-1]
    raised, at_console, lost, duplicates = (int(g) for g in match.groups()[:4])
    assert raised >= 2  # presses every ~3 s
    assert (at_console, lost, duplicates) == (raised, 0, 0)
    assert any(line.startswith("demo: console: http://127.0.0.1:") for line in lines)
    # The closed loop: the demo acted as operator and the call button heard "help is coming".
    [loop] = [line for line in lines if "operator_acknowledged=" in line]
    acknowledged, help_coming = (int(n) for n in re.findall(r"=(\d+)", loop))
    assert acknowledged == at_console
    assert help_coming >= 1
    # Everything it started is stopped again: no process still holds its logs open.
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout.strip() == ""
