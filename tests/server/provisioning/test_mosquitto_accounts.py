"""Gateways' accounts in a mosquitto password file, hashed by the real mosquitto_passwd."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.provisioning import BrokerAccountError
from server.provisioning.accounts import MosquittoPasswordFile, signal_pid_file


class Reloads:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def _accounts(tmp_path: Path) -> tuple[MosquittoPasswordFile, Reloads]:
    path = tmp_path / "passwd"
    path.write_text("server:$7$101$c2FsdA==$aGFzaA==\n")
    path.chmod(0o640)
    reloads = Reloads()
    return MosquittoPasswordFile(path, reloads), reloads


def test_an_account_is_hashed_replaced_and_removed(tmp_path: Path) -> None:
    accounts, reloads = _accounts(tmp_path)
    accounts.set_password("gw-1", "first secret")
    accounts.set_password("gw-2", "other secret")
    accounts.set_password("gw-1", "second secret")
    text = accounts.path.read_text()
    assert accounts.usernames() == ["server", "gw-2", "gw-1"]
    assert "secret" not in text
    assert text.count("gw-1:$7$") == 1
    accounts.remove("gw-1")
    accounts.remove("gw-unknown")
    assert accounts.usernames() == ["server", "gw-2"]
    assert reloads.count == 5
    assert accounts.path.stat().st_mode & 0o777 == 0o640  # mosquitto can still read it
    leftovers = {p.name for p in tmp_path.iterdir()} - {"passwd", "passwd.lock"}
    assert leftovers == set()


def test_a_missing_tool_is_a_broker_account_error(tmp_path: Path) -> None:
    accounts = MosquittoPasswordFile(tmp_path / "passwd", Reloads(), tool="no-such-tool")
    with pytest.raises(BrokerAccountError) as info:
        accounts.set_password("gw-1", "the secret")
    assert "the secret" not in str(info.value)
    assert not (tmp_path / "passwd").exists()


def test_a_username_that_would_break_the_file_is_refused(tmp_path: Path) -> None:
    accounts, _ = _accounts(tmp_path)
    with pytest.raises(BrokerAccountError):
        accounts.set_password("gw:1", "x")


def test_a_pid_file_naming_no_process_is_a_broker_account_error(tmp_path: Path) -> None:
    (tmp_path / "gone.pid").write_text("not a pid\n")
    with pytest.raises(BrokerAccountError):
        signal_pid_file(tmp_path / "gone.pid")()
    with pytest.raises(BrokerAccountError):
        signal_pid_file(tmp_path / "absent.pid")()
