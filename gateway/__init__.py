"""The home's brain: turns device events into alarms and delivers them, never losing one.

Exception tree::

    GatewayError
     └── OutboxError      the durable outbox cannot be written (disk full, locked): fatal
"""


class GatewayError(Exception):
    """Base of gateway errors."""


class OutboxError(GatewayError):
    """The outbox could not persist or update a message; the alarm must not be acked."""
