"""Zigbee2MQTT decoders by device kind, drawn from the device registry (``edge.devices``).

Each kind's decoder is the concatenation of its capability pieces' decoders; the quirks of
real payloads are recorded with the pieces in ``edge.devices.capabilities``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from edge.devices import REGISTRY
from edge.devices.capabilities import Decoded, Problem
from edge.events import DeviceRef

Converter = Callable[[DeviceRef, Mapping[str, Any], float], list[Decoded]]

CONVERTERS: dict[str, Converter] = {k.name: k.decode_z2m for k in REGISTRY.on("zigbee2mqtt")}

__all__ = ["CONVERTERS", "Converter", "Decoded", "Problem"]
