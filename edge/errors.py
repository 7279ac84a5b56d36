"""Errors of the edge package; decoders raise these, drivers count and drop."""


class EdgeError(Exception):
    """Base of edge errors."""


class FrameError(EdgeError):
    """A serial frame with a valid CRC whose type or payload is not one we know."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class PayloadError(EdgeError):
    """A Zigbee2MQTT payload that is not what the device definition expects."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
