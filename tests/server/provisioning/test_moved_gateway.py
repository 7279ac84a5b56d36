"""A gateway revoked at one home and registered at another, in the store (SQLite and
PostgreSQL): what it was configured with at the old home is gone, and its new home's
configuration, away periods and resident edits work as for any new gateway."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete

from protocol import HomeConfigBody
from server.centre import Centre
from server.crud import away, provisioning
from server.db.care_models import HomeGateway
from tests.server.care_seed import seed_district

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_a_gateway_moved_to_another_home_counts_as_not_configured_there(
    store_centre: Centre,
) -> None:
    """Moving cleared the old home's entry by setting it to None, which the JSON column keeps
    as JSON null, not SQL NULL: the gateway still counted as configured at its new home, and
    reading that entry failed (500) when a resident of the new home was edited, its away
    periods read or set, or the gateway configured."""
    with store_centre.sessions.begin() as session:
        old = seed_district(session, gateway_id="gw-old-home")
        new = seed_district(session, gateway_id="gw-new-home")
        provisioning.register(session, "gw-mover", old.home_id, "admin", NOW)
        config = HomeConfigBody(revision=0, home_id=old.home_id)
        provisioning.set_config(session, "gw-mover", config, "admin", NOW)
        provisioning.revoke(session, "gw-mover", "admin", NOW)
        session.execute(delete(HomeGateway).where(HomeGateway.gateway_id == "gw-mover"))
    with store_centre.sessions.begin() as session:
        provisioning.register(session, "gw-mover", new.home_id, "admin", NOW)
    with store_centre.sessions.begin() as session:
        assert provisioning.configured(session, new.home_id) == []
        assert provisioning.refresh_home(session, new.home_id, "admin", NOW) == []
        assert away.schedule(session, new.resident_id, NOW).gateway_ids == []
        stored = provisioning.set_config(
            session, "gw-mover", HomeConfigBody(revision=0, home_id=new.home_id), "admin", NOW
        )
        assert (stored.home_id, stored.away) == (new.home_id, [])
