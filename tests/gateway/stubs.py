"""Stand-ins for a gateway's transports in unit tests: record what is sent, control time."""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.serial.payloads import Ack, Indicate
from gateway.uplink import CentreLinks
from protocol import Channel


@dataclass
class StubLink:
    """A serial link that records what the gateway tells the device; can play a closed port."""

    sent: list[Ack | Indicate] = field(default_factory=list)
    open: bool = True

    def send(self, payload: Ack | Indicate) -> bool:
        if self.open:
            self.sent.append(payload)
        return self.open


@dataclass
class StubUplink:
    wakes: int = 0
    published: list[tuple[Channel, bytes]] = field(default_factory=list)
    centre_links: CentreLinks = field(default_factory=lambda: CentreLinks(connected=True))

    def links(self) -> CentreLinks:
        return self.centre_links

    def wake(self) -> None:
        self.wakes += 1

    def publish_now(self, channel: Channel, payload: bytes) -> bool:
        self.published.append((channel, payload))
        return True

    def publish_unstored(self, channel: Channel, payload: bytes) -> bool:
        return self.publish_now(channel, payload)


class Clock:
    """An injected clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
