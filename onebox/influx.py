"""A real InfluxDB 1.x (Debian's ``influxd``) on loopback ports, with its own config file.

Every directory lives under ``workdir`` and both listeners (HTTP API and the RPC port used by
``influxd backup``) are bound to 127.0.0.1 on free ports, so runs never share state with each
other or with a system-wide InfluxDB. Only the v1 HTTP API is used, which 2.x and 3.x serve
too, so what runs against this server runs against a centre's newer one.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from onebox.net import free_port, wait_for
from onebox.process import Service

INFLUXD = Path("/usr/bin/influxd")


class InfluxServer:
    """``influxd -config <workdir>/influxd.conf``; ``url`` is the HTTP API base URL.

    ``continuous_queries`` turns the service on that runs them (checked every second);
    ``max_body_size`` (bytes) lowers the write size above which influxd answers 413;
    ``auth_enabled`` requires users (the first, an admin, may be created without).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        continuous_queries: bool = False,
        max_body_size: int | None = None,
        auth_enabled: bool = False,
    ) -> None:
        self.workdir = workdir
        self.auth_enabled = auth_enabled
        self.continuous_queries = continuous_queries
        self.max_body_size = max_body_size
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.rpc_port = free_port()
        self.service: Service | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        lines = [
            # Upstream 1.x reads reporting-disabled; Debian patched the key to
            # reporting-enabled (default false). influxd ignores the key it does not know.
            "reporting-disabled = true",
            "reporting-enabled = false",
            f'bind-address = "{self.host}:{self.rpc_port}"',  # RPC (backup/restore)
            "",
            "[meta]",
            f'  dir = "{self.workdir / "meta"}"',
            "  logging-enabled = false",
            "",
            "[data]",
            f'  dir = "{self.workdir / "data"}"',
            f'  wal-dir = "{self.workdir / "wal"}"',
            "  query-log-enabled = false",
            "",
            "[monitor]",
            "  store-enabled = false",  # no _internal database written every 10 s
            "",
            "[subscriber]",
            "  enabled = false",
            "",
            "[continuous_queries]",
            f"  enabled = {'true' if self.continuous_queries else 'false'}",
            '  run-interval = "1s"',
            "  log-enabled = false",
            "",
            "[http]",
            f'  bind-address = "{self.host}:{self.port}"',
            "  log-enabled = false",  # one access-log line per write would drown the errors
            "  pprof-enabled = false",
            *([f"  max-body-size = {self.max_body_size}"] if self.max_body_size else []),
            f"  auth-enabled = {'true' if self.auth_enabled else 'false'}",
            "",
            "[logging]",  # influxd 1.x logs to stderr; Service sends it to influxd.log
            '  level = "warn"',
            "  suppress-logo = true",
        ]
        conf = self.workdir / "influxd.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self) -> InfluxServer:
        # Not shutil.which: an InfluxDB 2.x ``influxd`` on PATH takes no ``-config`` file.
        binary = INFLUXD
        if not binary.exists():
            raise FileNotFoundError(
                f"InfluxDB is not installed: no {INFLUXD} (Debian: apt-get install influxdb)"
            )
        conf = self._write_config()
        self.service = Service(
            "influxd", [str(binary), "-config", str(conf)], self.workdir / "influxd.log"
        )
        self.service.start()
        wait_for(self._ready, 20, f"influxd on port {self.port}")
        return self

    def _ready(self) -> bool:
        """``GET /ping`` answers 204 once the HTTP service is up; an open port is not enough."""
        assert self.service is not None
        self.service.check_alive()
        try:
            return httpx.get(f"{self.url}/ping", timeout=0.5).status_code == 204
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()

    def kill(self) -> None:
        if self.service is not None:
            self.service.kill()
