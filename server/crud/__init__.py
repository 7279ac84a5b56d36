"""Store operations; they know SQL and the wire contract, nothing of HTTP or MQTT."""
