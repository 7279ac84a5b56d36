"""Serial device protocol v1 (docs/serial-protocol.md): framing, payloads and the port driver."""
