"""Engine creation and schema migration, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from server.notify.secret_box import SecretBox

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant will do; it serialises migrations when several server processes start at once.
_MIGRATION_LOCK_KEY = 0x454C4443


def make_engine(url: str) -> Engine:
    """The store's engine. ``hide_parameters``: a failed statement's exception, and so every
    traceback logged for it, names the statement but not the values (a webhook's secret, a
    provider's URL, a resident's record)."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            hide_parameters=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, hide_parameters=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while ingest writes; FULL sync: an acknowledged alarm is on disk.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine, secrets: SecretBox | None = None) -> None:
    """Bring the schema to the newest revision (idempotent, safe to race on PostgreSQL).
    ``secrets`` seals webhook secrets stored in plain text before revision 0009; without it
    that revision refuses a database holding any."""
    config = Config()
    config.attributes["secrets"] = secrets
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def serialise_bootstrap(session: Session) -> None:
    """Within ``session``'s transaction, wait for any other server process doing start-up work
    (migrations, the first account): on PostgreSQL several processes may start at once."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})


def session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False)
