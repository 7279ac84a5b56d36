"""Device kinds as data: capability pieces, definitions, and the one registry of them."""

from edge.devices.catalogue import KINDS
from edge.devices.kinds import DeviceKind, Example, Fingerprint
from edge.devices.registry import Registry

REGISTRY = Registry(KINDS)

__all__ = ["REGISTRY", "DeviceKind", "Example", "Fingerprint", "Registry"]
