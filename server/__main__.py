"""``python -m server``: the API on 127.0.0.1:8000 by default, SQLite under SERVER_DATA_DIR."""

from __future__ import annotations

import logging
import sys

import uvicorn
from pydantic import ValidationError

from server import ConfigurationError
from server.core.config import ServerSettings
from server.main import create_app


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = ServerSettings()
    except (ValidationError, ConfigurationError) as err:
        print(f"server: invalid configuration:\n{err}", file=sys.stderr)
        return 2
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
