"""Notification channels behind the dispatch engine's ``Notifier`` protocol.

A ``CompositeNotifier`` (composite.py) looks up the channels configured for the responder
(channels.py; stored in SQL by admins through the API and cached, stored_channels.py) and
hands the notification to each channel's sender: an MQTT topic per responder (mqtt.py) or a
signed webhook (webhook.py, signing.py), which is also how SMS and voice providers plug in.
Every attempt of every delivery keeps a record (deliveries.py, stored_deliveries.py) so a
supervisor can see that a notification did not get through.

Exceptions::

    NotifyError
     +-- DeliveryFailed   a webhook gave up (retryable: the ladder's next repeat tries again)
"""

from __future__ import annotations


class NotifyError(Exception):
    """Base of this package's errors."""


class DeliveryFailed(NotifyError):
    """Every attempt of one delivery failed; the escalation ladder's repeat is the next try."""
