"""Broker accounts for gateways: one small interface, and mosquitto's password file behind it.

mosquitto 2.0 reads its ``password_file`` at start and on SIGHUP only. An account changed here
is therefore written to the file, and mosquitto is told to reload it: by a signal to the pid
in its pid file, or by a command (``docker compose kill -s HUP mosquitto`` where the server
cannot signal the broker itself). On reload mosquitto also disconnects clients whose account
is gone, so a revoked gateway is cut off at once.

Hashes come from ``mosquitto_passwd`` itself, never hand-rolled. It is run with ``-U`` on a
private temporary file rather than with ``-b user password``: an argument is visible to every
local user in the process list while the tool runs; a file of mode 0600 is not. The password
file is rewritten whole through a temporary file and a rename (readers see the old file or the
new one), under a lock file, so two server processes never lose each other's changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shlex
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from server.provisioning import BrokerAccountError

log = logging.getLogger(__name__)
TOOL_TIMEOUT_S = 30.0


class BrokerAccounts(Protocol):
    """Where gateways' broker accounts live."""

    def set_password(self, username: str, password: str) -> None:
        """Create the account, or give it a new password; in force when this returns."""

    def remove(self, username: str) -> None:
        """Delete the account (nothing if absent); connected clients of it are cut off."""


def signal_pid_file(pid_file: Path) -> Callable[[], None]:
    """A reload: SIGHUP to the pid in mosquitto's ``pid_file``."""

    def reload() -> None:
        try:
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGHUP)
        except (OSError, ValueError) as err:
            raise BrokerAccountError(f"cannot signal mosquitto via {pid_file}: {err}") from err

    return reload


def run_command(command: str) -> Callable[[], None]:
    """A reload: run ``command`` (split like a shell would, but run without one)."""
    argv = shlex.split(command)

    def reload() -> None:
        try:
            subprocess.run(argv, check=True, capture_output=True, timeout=TOOL_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as err:
            raise BrokerAccountError(f"mosquitto reload command failed: {err}") from err

    return reload


class MosquittoPasswordFile:
    """:class:`BrokerAccounts` in a mosquitto ``password_file`` (module docstring)."""

    def __init__(
        self, path: Path, reload: Callable[[], None], *, tool: str = "mosquitto_passwd"
    ) -> None:
        self.path = path
        self._reload = reload
        self._tool = tool

    def set_password(self, username: str, password: str) -> None:
        entry = self._hashed(username, password)
        with self._locked():
            self._write([*self._entries_without(username), entry])
        self._reload()
        log.info("broker account %s set", username)

    def remove(self, username: str) -> None:
        with self._locked():
            self._write(self._entries_without(username))
        self._reload()
        log.info("broker account %s removed", username)

    def usernames(self) -> list[str]:
        return [line.split(":", 1)[0] for line in self._entries_without(None)]

    def _hashed(self, username: str, password: str) -> str:
        if ":" in username or "\n" in username + password:
            raise BrokerAccountError("a broker username has no ':'; neither has a newline")
        with tempfile.TemporaryDirectory(prefix="broker-account-") as private:  # mode 0700
            plain = Path(private) / "passwd"
            fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{username}:{password}\n")
            try:
                subprocess.run(
                    [self._tool, "-U", str(plain)],
                    check=True,
                    capture_output=True,
                    timeout=TOOL_TIMEOUT_S,
                )
            except (OSError, subprocess.SubprocessError) as err:
                # The error names the tool and the temporary file, never the password.
                raise BrokerAccountError(f"{self._tool} -U failed: {type(err).__name__}") from err
            entry = plain.read_text().strip()
        if not entry.startswith(f"{username}:") or entry == f"{username}:{password}":
            raise BrokerAccountError(f"{self._tool} did not hash the password")
        return entry

    def _entries_without(self, username: str | None) -> list[str]:
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return []
        except OSError as err:
            raise BrokerAccountError(f"cannot read {self.path}: {err}") from err
        return [ln for ln in lines if ln.strip() and ln.split(":", 1)[0] != username]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise BrokerAccountError(f"cannot lock {self.path}: {err}") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _write(self, entries: list[str]) -> None:
        """Replace the file whole, keeping its mode and (where allowed) its owner: mosquitto
        must still be able to read it."""
        directory = self.path.parent
        try:
            before = self.path.stat()
        except FileNotFoundError:
            before = None
        tmp: str | None = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
            with os.fdopen(fd, "w") as handle:
                handle.write("".join(f"{entry}\n" for entry in entries))
                handle.flush()
                os.fsync(handle.fileno())
            if before is not None:
                os.chmod(tmp, before.st_mode & 0o777)
                with contextlib.suppress(PermissionError):
                    os.chown(tmp, before.st_uid, before.st_gid)
            os.replace(tmp, self.path)
        except OSError as err:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            raise BrokerAccountError(f"cannot write {self.path}: {err}") from err


def accounts_from_settings(
    password_file: Path | None, pid_file: Path | None, reload_command: str | None, tool: str
) -> MosquittoPasswordFile | None:
    """The configured password file, or None when the centre issues no credentials."""
    if password_file is None:
        return None
    if reload_command is not None:
        return MosquittoPasswordFile(password_file, run_command(reload_command), tool=tool)
    if pid_file is None:
        raise BrokerAccountError("a password file needs a pid file or a reload command")
    return MosquittoPasswordFile(password_file, signal_pid_file(pid_file), tool=tool)
