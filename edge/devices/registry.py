"""The one table of device kinds: lookup by name and by hardware model, checked when built.

Two kinds with the same name or the same fingerprint are refused at import, so a clash can
never reach a home; the conformance tests walk this table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from edge.devices.kinds import DeviceKind, Fingerprint
from edge.events import Transport


class Registry:
    def __init__(self, kinds: Iterable[DeviceKind]) -> None:
        self._by_name: dict[str, DeviceKind] = {}
        self._by_print: dict[Fingerprint, DeviceKind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: DeviceKind) -> None:
        if kind.name in self._by_name:
            raise ValueError(f"device kind {kind.name!r} registered twice")
        for print_ in kind.fingerprints:
            other = self._by_print.get(print_)
            if other is not None:
                raise ValueError(
                    f"{kind.name} and {other.name} share the fingerprint {print_.model!r}"
                )
        self._by_name[kind.name] = kind
        self._by_print.update(dict.fromkeys(kind.fingerprints, kind))

    def __iter__(self) -> Iterator[DeviceKind]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> DeviceKind:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(sorted(self._by_name))
            raise KeyError(f"unknown device kind {name!r}; known: {known}") from None

    def on(self, transport: Transport) -> list[DeviceKind]:
        return [k for k in self if transport in k.heartbeat_s]

    def identify(self, transport: Transport, model: str) -> DeviceKind | None:
        """The kind of a device that reports this hardware model (discovery)."""
        return self._by_print.get(Fingerprint(transport, model))
