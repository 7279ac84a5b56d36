"""The centre broker's ACL is generated from the topic constants, and grants each gateway
exactly its own channels in their own direction."""

from __future__ import annotations

import pytest
from paho.mqtt.client import topic_matches_sub

from onebox import REPO
from protocol import Channel, Direction, TopicName
from server.mosquitto_acl import render

ACL_FILE = REPO / "deploy" / "mosquitto" / "acl"


def test_the_deployed_acl_is_the_generated_one() -> None:
    assert ACL_FILE.read_text() == render(), "run: python -m server.mosquitto_acl > " + str(
        ACL_FILE.relative_to(REPO)
    )


def _patterns(access: str, username: str) -> list[str]:
    rules = [line.split() for line in render().splitlines() if line.startswith("pattern ")]
    return [topic.replace("%u", username) for _, kind, topic in rules if kind == access]


@pytest.mark.parametrize("channel", list(Channel), ids=str)
def test_a_gateway_may_use_each_channel_only_in_its_direction(channel: Channel) -> None:
    own, other = str(TopicName("gw-a", channel)), str(TopicName("gw-b", channel))
    writes, reads = _patterns("write", "gw-a"), _patterns("read", "gw-a")
    mine = writes if channel.direction is Direction.UP else reads
    theirs = reads if channel.direction is Direction.UP else writes
    assert any(topic_matches_sub(p, own) for p in mine)
    assert not any(topic_matches_sub(p, own) for p in theirs)
    assert not any(topic_matches_sub(p, other) for p in writes + reads)
