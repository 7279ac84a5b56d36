"""Field types shared by the message envelope and the message bodies of wire contract v1.

Kept apart from :mod:`protocol.messages` so that body modules (``protocol.home_config``) can
use them while ``messages`` builds the envelope and the unions from those bodies.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
ShortText = Annotated[str, StringConstraints(max_length=200)]


class StrictModel(BaseModel):
    """Unknown fields refused, values frozen. NaN and infinities are not measurements;
    InfluxDB would refuse them anyway."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
