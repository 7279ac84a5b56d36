"""The key that encrypts webhook secrets at rest: from ``SERVER_SECRET_KEY``, or generated
once into a file under the data directory.

The key must not live in the database it protects: a copy of the database or of its backups
then holds only ciphertext. Several server processes on one database need the same key, so
they set ``SERVER_SECRET_KEY``; a single process may rely on the file, created with mode 0600
(readable by the server's account only) and read again at every start. The key itself is
never logged, only where the file is.
"""

from __future__ import annotations

import binascii
import logging
import os
from base64 import urlsafe_b64decode
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import SecretStr

from server import ConfigurationError

log = logging.getLogger(__name__)
KEY_FILE = "secret.key"
KEY_BYTES = 32  # a Fernet key: 16 bytes for signing, 16 for AES-128


def is_fernet_key(key: str) -> bool:
    try:
        return len(urlsafe_b64decode(key.encode())) == KEY_BYTES
    except (binascii.Error, ValueError):
        return False


def secret_key(given: SecretStr | None, data_dir: Path) -> bytes:
    """``given`` when set, else the key in ``data_dir/secret.key``, made on first use."""
    if given is not None:
        return given.get_secret_value().encode()
    path = data_dir / KEY_FILE
    if not path.exists():
        _write_new_key(path)
        log.info("generated the key for webhook secrets at rest in %s (mode 0600)", path.resolve())
    else:
        log.info("webhook secrets at rest are encrypted with the key in %s", path.resolve())
    key = path.read_bytes().strip()
    if not is_fernet_key(key.decode(errors="replace")):
        raise ConfigurationError(f"{path} does not hold a Fernet key (32 bytes, URL-safe base64)")
    return key


def _write_new_key(path: Path) -> None:
    """Written whole to a private temporary file, then linked into place, which fails if the
    file exists: two processes starting on one data directory both end up with the first key,
    and neither ever reads a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(Fernet.generate_key() + b"\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
