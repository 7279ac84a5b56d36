"""Simulated devices that speak exactly what real ones speak, for tests, the demo and installers.

Serial devices sit behind the same transport a real one uses (a pseudo-terminal, or TCP as a
ser2net-style port); Zigbee2MQTT devices publish the payloads Zigbee2MQTT publishes.
"""
