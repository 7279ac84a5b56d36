"""The provisioning API rig (a centre with fake broker accounts, a seeded district and an
admin), shared by this folder's API tests."""

from tests.server.provisioning.test_gateway_setup_api import rig

__all__ = ["rig"]
