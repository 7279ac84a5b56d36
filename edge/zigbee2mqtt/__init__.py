"""Zigbee2MQTT devices: payload converters (pure) and the bridge driver (MQTT I/O)."""
