"""A throwaway PostgreSQL 15 cluster on a loopback port (Debian's binaries).

``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` user.
``fsync=off``: for tests only, where speed matters and durability does not.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from onebox.net import free_port, port_open, wait_for

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PostgresCluster:
    def __init__(self, workdir: Path, *, durable: bool = False) -> None:
        if os.geteuid() == 0:
            # The postgres user cannot enter root's private temp dirs (pytest's are 0700).
            workdir = Path(tempfile.mkdtemp(prefix="eldercare-pg-"))
        self.workdir = workdir
        self.data = workdir / "pgdata"
        self.socket_dir = workdir / "sock"
        self.port = free_port()
        self.durable = durable
        self.password = secrets.token_urlsafe(16)
        self.user = "eldercare"
        self.database = "eldercare"

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *argv], capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{Path(argv[0]).name} failed: {done.stderr.strip()}")

    def start(self) -> PostgresCluster:
        if not (PG_BIN / "initdb").exists():
            raise FileNotFoundError("PostgreSQL 15 is not installed (Debian: postgresql)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres")
            shutil.chown(self.socket_dir, "postgres")
        pwfile = self.workdir / "pw"
        pwfile.write_text(self.password)
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres")
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        pwfile.unlink()
        self.resume()
        self.create_database(self.database)
        return self

    def pause(self) -> None:
        """Stop the server, keeping its data: the database is down until :meth:`resume`
        (a fault test's outage). Connections are cut at once (fast shutdown)."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the server on its data directory, on the same port."""
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.workdir / "postgres.log"),
            "-o",
            options,
            "-w",
            "start",
        )
        wait_for(lambda: port_open(self.port), 20, f"PostgreSQL on port {self.port}")

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URL."""
        self._run(
            str(PG_BIN / "createdb"),
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            self.user,
            name,
        )
        return self.url_for(name)

    def url_for(self, name: str) -> str:
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{name}"

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.workdir, ignore_errors=True)
