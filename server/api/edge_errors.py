"""Request values the store cannot hold become a 422, not a 500.

Ids and numbers arrive as Python ints of any size; SQLite stores at most 64 bits (the driver
raises ``OverflowError``) and PostgreSQL's INTEGER 32 (``DataError``, numeric value out of
range). Found by the schemathesis run (tests/server/test_api_fuzz.py): every route taking an
id or a number answered such a value with a 500.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, StatementError


async def _out_of_range(_request: Request, _err: Exception) -> Response:
    return JSONResponse(
        {"detail": "a number in the request is out of range for the store"},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _statement_error(request: Request, err: Exception) -> Response:
    if isinstance(err, StatementError) and isinstance(err.orig, OverflowError):
        return await _out_of_range(request, err)
    raise err


def install(app: FastAPI) -> None:
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(StatementError, _statement_error)
