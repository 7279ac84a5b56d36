"""MQTT ingest: from gateways' payloads to stored records, receipts and live events."""
