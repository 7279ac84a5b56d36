"""``python -m edge.devices``: every registered device kind with its transports, one per line."""

from __future__ import annotations

from edge.devices import REGISTRY


def main() -> None:
    for kind in REGISTRY:
        print(kind.describe())
    print(f"devices: kinds={len(REGISTRY)}")


if __name__ == "__main__":
    main()
