"""Webhook secrets sealed at rest: the key from the settings or a private file, a round trip,
a database migrated while holding a plain secret, and a wrong key refused at start."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from cryptography.fernet import Fernet
from pydantic import SecretStr

from server import ConfigurationError
from server.centre import Centre
from server.core.config import ServerSettings
from server.core.secret_key import KEY_FILE, secret_key
from server.crud import notify
from server.db.engine import MIGRATIONS, migrate
from server.db.notify_models import NotificationChannel
from server.notify.channels import WebhookChannel
from server.notify.secret_box import (
    MISMATCH,
    SecretBox,
    SecretKeyMismatch,
    check_secret_key,
)
from server.notify.stored_channels import StoredDirectory
from tests.server.care_seed import T0, seed_district

PLAIN = "whsec-0123456789abcdef"


def test_a_sealed_secret_opens_with_its_key_and_no_other() -> None:
    box = SecretBox(Fernet.generate_key())
    sealed = box.seal(PLAIN)
    assert PLAIN not in sealed
    assert box.seal(PLAIN) != sealed  # a fresh nonce each time: equal secrets do not show
    assert box.open(sealed) == PLAIN
    assert box.open(box.seal("密钥" * 128)) == "密钥" * 128  # 256 characters, 768 bytes
    with pytest.raises(SecretKeyMismatch, match=MISMATCH):
        SecretBox(Fernet.generate_key()).open(sealed)


def test_without_a_setting_the_key_is_made_once_into_a_private_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first = secret_key(None, tmp_path / "data")
    path = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(None, tmp_path / "data") == first  # read again, not made again
    assert str(path.resolve()) in caplog.text
    assert first.decode() not in caplog.text
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.INFO]
    given = Fernet.generate_key()
    assert secret_key(SecretStr(given.decode()), tmp_path / "other") == given
    assert not (tmp_path / "other").exists()


def test_a_key_that_is_not_a_fernet_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="SERVER_SECRET_KEY must be a Fernet key"):
        ServerSettings(secret_key="correct horse battery staple")


def test_a_plain_secret_stored_before_0009_is_sealed_by_the_migration(
    store_centre: Centre,
) -> None:
    with store_centre.sessions.begin() as session:
        worker = seed_district(session).worker_ids[0]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store_centre.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    with store_centre.sessions.begin() as session:  # as the API stored it before 0009
        session.add(
            NotificationChannel(
                responder_id=worker,
                kind="webhook",
                adapter="sms",
                url="https://sms.example/",
                secret=PLAIN,
                created_at=T0,
                updated_at=T0,
            )
        )
    with pytest.raises(RuntimeError, match="needs SERVER_SECRET_KEY"):
        migrate(store_centre.engine)  # refused, not skipped: nothing is left in plain text
    migrate(store_centre.engine, store_centre.secrets)
    with store_centre.sessions() as session:
        (row,) = notify.every_channel(session)
    assert row.secret is not None
    assert PLAIN not in row.secret
    directory = StoredDirectory(store_centre.sessions, store_centre.secrets, mqtt_for_all=False)
    assert directory.channels_for(worker) == [
        WebhookChannel("https://sms.example/", PLAIN, "sms", row.id)
    ]
    with store_centre.sessions.begin() as session:
        check_secret_key(session, store_centre.secrets)


def test_another_key_is_refused_at_start_with_one_clear_error(
    store_centre: Centre, caplog: pytest.LogCaptureFixture
) -> None:
    with store_centre.sessions.begin() as session:
        check_secret_key(session, store_centre.secrets)  # the first key used on this database
    wrong_key = SecretStr(Fernet.generate_key().decode())
    other = Centre(store_centre.settings.model_copy(update={"secret_key": wrong_key}))
    loop = asyncio.new_event_loop()
    try:
        # Refused although no channel has a secret yet: the database remembers the first key.
        with pytest.raises(SecretKeyMismatch, match=MISMATCH):
            other.start(loop)
        with store_centre.sessions.begin() as session:
            worker = seed_district(session).worker_ids[0]
            values = {"responder_id": worker, "kind": "webhook", "adapter": "generic"}
            values |= {"url": "https://h.example/", "secret": PLAIN}
            notify.create_channel(session, store_centre.secrets.sealed(values), "admin", T0)
        # A process that started anyway (the key changed under it) does not fail per call:
        # it keeps the channels it had and says so once.
        caplog.set_level(logging.WARNING)
        directory = StoredDirectory(store_centre.sessions, other.secrets, mqtt_for_all=False)
        assert directory.channels_for(worker) == []
        assert directory.channels_for(worker) == []
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1
        assert MISMATCH in warnings[0]
    finally:
        other.stop()
        loop.close()


def test_python_m_server_with_another_key_exits_with_one_line(centre: Centre) -> None:
    """The operator starting the server sees why, not an application start-up traceback."""
    centre.prepare_store()  # the first key used on this database is checked in
    wrong_key = Fernet.generate_key().decode()
    env = {
        **os.environ,
        "SERVER_DATA_DIR": str(centre.settings.data_dir),
        "SERVER_SECRET_KEY": wrong_key,
        "SERVER_MQTT_ENABLED": "false",
    }
    done = subprocess.run(
        [sys.executable, "-m", "server"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[3],
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == f"server: {MISMATCH}"
    assert "Traceback" not in done.stderr
    assert wrong_key not in done.stderr + done.stdout
