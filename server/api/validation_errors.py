"""A 422 names what is wrong with a request without echoing passwords or secrets.

FastAPI's own answer repeats each offending value (``input``), and for a missing field the
whole body, so a login or a webhook channel sent with one mistake would come back with its
password or secret in the answer, where proxies and client logs keep it. Values under the
write-only field names below are replaced, wherever they sit in the echoed input.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

WRITE_ONLY = frozenset({"password", "secret", "url"})
HIDDEN = "**********"


def _hide(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: HIDDEN if k in WRITE_ONLY else _hide(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v) for v in value]
    return value


def redacted(errors: Any) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        error = dict(error)
        if "input" in error:
            on_field = any(part in WRITE_ONLY for part in error.get("loc", ()))
            error["input"] = HIDDEN if on_field else _hide(error["input"])
        out.append(error)
    return out


async def _unprocessable(_request: Request, err: Exception) -> Response:
    if not isinstance(err, RequestValidationError):
        raise err
    return JSONResponse(
        {"detail": jsonable_encoder(redacted(err.errors()))},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _unprocessable)
