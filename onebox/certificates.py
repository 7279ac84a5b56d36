"""Throwaway certificates for TLS on loopback: a private CA and a server certificate it signs,
made with the ``openssl`` CLI (as an operator would), valid for a day.

The server certificate names ``localhost`` and ``127.0.0.1`` in its subjectAltName: clients
check the name they connected to against it (never the CN), and the test brokers listen on
127.0.0.1.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVER_NAMES = "subjectAltName=DNS:localhost,IP:127.0.0.1"


@dataclass(frozen=True)
class ServerCertificate:
    """PEM files: the CA clients trust, and the server's certificate and private key."""

    ca_file: Path
    certfile: Path
    keyfile: Path


def _openssl(*argv: str) -> None:
    subprocess.run(["openssl", *argv], check=True, capture_output=True)


def make_ca(directory: Path, name: str = "Eldercare test CA") -> tuple[Path, Path]:
    """A self-signed CA in ``directory``: (certificate, key)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "ca.pem", directory / "ca.key"
    _openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}"),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        *("-keyout", str(key), "-out", str(cert)),
    )
    return cert, key


def issue_server_certificate(directory: Path, common_name: str = "localhost") -> ServerCertificate:
    """A fresh CA in ``directory`` and a loopback server certificate signed by it."""
    ca_cert, ca_key = make_ca(directory)
    key, cert = directory / "server.key", directory / "server.pem"
    request = directory / "server.csr"
    _openssl(
        *("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={common_name}"),
        *("-keyout", str(key), "-out", str(request)),
    )
    extensions = directory / "server.ext"
    extensions.write_text(f"{SERVER_NAMES}\nextendedKeyUsage=serverAuth\n")
    _openssl(
        *("x509", "-req", "-in", str(request), "-CA", str(ca_cert), "-CAkey", str(ca_key)),
        *("-CAcreateserial", "-days", "1", "-extfile", str(extensions), "-out", str(cert)),
    )
    return ServerCertificate(ca_cert, cert, key)
