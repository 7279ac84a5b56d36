"""The store's engines, on SQLite and PostgreSQL: what a failed statement says in a log."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from server.centre import Centre

SECRET = "hook-secret-for-tests-0123456789"


def test_a_failed_statement_does_not_carry_its_values_into_logs(store_centre: Centre) -> None:
    """SQLAlchemy puts a failed statement's parameters in the exception's text, which every
    traceback in the log repeats: a webhook secret (stored as given, it signs with it) or a
    provider's URL being written when the database refused would end up in the log."""
    with pytest.raises(DBAPIError) as refused, store_centre.engine.begin() as connection:
        connection.execute(text("INSERT INTO nowhere (value) VALUES (:value)"), {"value": SECRET})
    assert SECRET not in str(refused.value)
    assert "INSERT INTO nowhere" in str(refused.value)  # the statement itself still says where
