"""A child process with its output in a log file, stopped with SIGTERM then SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

PROBLEM_MARKERS = ("Traceback (most recent call last)", " ERROR ", " CRITICAL ")
PROBLEM_CONTEXT_LINES = 12  # a problem line and the traceback frames after it


class Service:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,  # a Ctrl-C in the terminal reaches only us; we stop them
        )
        log.close()
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.proc.returncode}; last lines of {self.log_path}:\n"
                + self.tail()
            )

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def problems(self) -> list[str]:
        """Log lines that say something went wrong: a traceback, an ERROR or CRITICAL line.

        Tests assert this is empty, so an exception that was only logged fails them.
        """
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return []
        return [line for line in text.splitlines() if any(m in line for m in PROBLEM_MARKERS)]

    def assert_clean(self, expected: Sequence[str] = ()) -> None:
        """Fail with the problem lines and what follows each (a traceback's frames), not a path.

        CI keeps only the test's output, so the failure message must carry the evidence.
        ``expected``: problem lines a test caused on purpose (a broker refusing the gateway is
        an ERROR, rightly), each containing one of these texts; the test checks they are there.
        """
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return
        excerpts = [
            "\n".join(lines[i : i + PROBLEM_CONTEXT_LINES])
            for i, line in enumerate(lines)
            if any(m in line for m in PROBLEM_MARKERS) and not any(e in line for e in expected)
        ]
        if excerpts:
            raise AssertionError(
                f"{self.name} logged {len(excerpts)} problem(s) in {self.log_path}:\n"
                + "\n---\n".join(excerpts[:5])
            )

    def stop(self, timeout: float = 10.0) -> int | None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return None if proc is None else proc.returncode
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
