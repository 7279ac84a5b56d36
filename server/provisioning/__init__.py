"""Provisioning: gateways' broker accounts and the home configuration pushed to them.

Registering a gateway (``POST /api/gateways``) makes its broker account, named by the
gateway id, with a generated password that is shown once and stored nowhere at the centre but
as the broker's own hash. The home's configuration is stored per gateway with a growing
revision and published retained on ``eldercare/v1/<gateway>/down/config``.

Exception tree::

    ServerError (server)
     └── ProvisioningError
          └── BrokerAccountError   the broker's password file could not be changed or reloaded
"""

from server import ServerError


class ProvisioningError(ServerError):
    """Base of provisioning errors."""


class BrokerAccountError(ProvisioningError):
    """The broker account was not changed, or the broker was not told to reload; worth a
    retry once the broker (or its password file) is back."""
