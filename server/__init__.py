"""The dispatch centre: MQTT ingest, alarm store, REST API, live stream and console.

Exception tree::

    ServerError
     ├── ConfigurationError   settings that must not run (e.g. default secrets in production)
     ├── NotFound             an alarm, user or resource that does not exist (API: 404)
     ├── Conflict             a change the record's state forbids, or lost to another (409)
     ├── TelemetryWriteError  a telemetry point was not stored (``retryable``: worth a retry?)
     └── TelemetryQueryError  a telemetry query failed
"""


class ServerError(Exception):
    """Base of server errors."""


class ConfigurationError(ServerError):
    """The settings cannot be used as given."""


class NotFound(ServerError):
    """The requested record does not exist."""


class Conflict(ServerError):
    """The change does not fit the record's current state (or another writer got there
    first); nothing was changed."""
