"""Webhook secrets sealed at rest (Fernet: AES-128-CBC and HMAC-SHA256, from ``cryptography``).

The centre signs every webhook with the channel's secret, so it must read the secret back:
it cannot be hashed like a password. It is stored encrypted with a key kept outside the
database (server/core/secret_key.py), sealed when an admin sets it and opened when the
notifier reads the channels. The API never returns it, sealed or not.

A key that does not open what is stored is a configuration fault of the whole process, found
at start (``check_secret_key``) rather than once per notification: a row in
``notification_channels_version`` holds a known text sealed with the first key used on this
database, so a process with another key stops at start even while no channel has a secret.

Exception tree::

    ConfigurationError (server)
     └── SecretKeyMismatch   what is stored was sealed with another key
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from server import ConfigurationError
from server.crud.notify import VERSION_ROW
from server.db.notify_models import NotificationChannel, NotificationChannelsVersion

MISMATCH = "notification secrets cannot be decrypted with this SERVER_SECRET_KEY"
KEY_CHECK = "eldercare notification secrets"  # sealed into the database by the first key


class SecretKeyMismatch(ConfigurationError):
    """A sealed secret that this process's key does not open."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as err:
            raise SecretKeyMismatch(MISMATCH) from err

    def sealed(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` for a channel row, with its secret (if any) sealed."""
        out = dict(values)
        if out.get("secret") is not None:
            out["secret"] = self.seal(out["secret"])
        return out


def check_secret_key(session: Session, box: SecretBox) -> None:
    """Raise ``SecretKeyMismatch`` unless ``box`` opens the database's key check and every
    stored secret; on a database without a key check, seal one with ``box``. Call in a
    transaction serialised with other starting processes (``serialise_bootstrap``)."""
    marker = session.get(NotificationChannelsVersion, VERSION_ROW)
    if marker is not None and marker.key_check is None:
        marker.key_check = box.seal(KEY_CHECK)
    elif marker is not None and box.open(marker.key_check or "") != KEY_CHECK:
        raise SecretKeyMismatch(MISMATCH)
    query = select(NotificationChannel.secret).where(NotificationChannel.secret.is_not(None))
    for sealed in session.scalars(query):
        box.open(sealed or "")
