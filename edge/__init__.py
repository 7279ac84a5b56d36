"""Device I/O: one driver per transport, producing typed, timestamped events.

No detection logic and no network to the server live here.

Exception tree::

    EdgeError
     ├── FrameError        a serial frame whose payload does not decode (reason in .reason)
     └── PayloadError      a Zigbee2MQTT payload that does not decode (reason in .reason)
"""
