"""Topic names of wire contract v1 as validated values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import Channel, Direction, GatewayTopics, TopicError, TopicName, parse_topic
from protocol.topics import GATEWAY_ID_PATTERN, UPLINK_FILTER, validate_gateway_id

gateway_ids = st.from_regex(GATEWAY_ID_PATTERN, fullmatch=True)


@pytest.mark.parametrize(
    ("channel", "direction"),
    [
        (Channel.ALARM, Direction.UP),
        (Channel.EVENT, Direction.UP),
        (Channel.TELEMETRY, Direction.UP),
        (Channel.TELEMETRY_BATCH, Direction.UP),
        (Channel.TELEMETRY_SERIES, Direction.UP),
        (Channel.STATUS, Direction.UP),
        (Channel.RECEIPT, Direction.DOWN),
        (Channel.COMMAND, Direction.DOWN),
        (Channel.CONFIG, Direction.DOWN),
    ],
)
def test_topic_layout_per_channel(channel: Channel, direction: Direction) -> None:
    name = TopicName("gw-1", channel)
    assert str(name) == f"eldercare/v1/gw-1/{direction.value}/{channel.value}"
    assert parse_topic(str(name)) == name


@settings(max_examples=100, deadline=None)
@given(gateway_id=gateway_ids, channel=st.sampled_from(list(Channel)))
def test_parse_topic_and_topic_name_round_trip(gateway_id: str, channel: Channel) -> None:
    name = TopicName(gateway_id, channel)
    assert parse_topic(str(name)) == name
    assert str(parse_topic(str(name))) == str(name)


@pytest.mark.parametrize(
    "topic",
    [
        "",
        "eldercare",
        "eldercare/v1/gw-1/up",
        "eldercare/v1/gw-1/up/alarm/more",
        "eldercare/v2/gw-1/up/alarm",
        "eldercare/v1/gw-1/up/receipt",  # a downlink channel under up/
        "eldercare/v1/gw-1/down/status",
        "eldercare/v1/gw-1/sideways/alarm",
        "eldercare/v1/gw-1/up/unknown",
        "eldercare/v1/Gw-1/up/alarm",
        "eldercare/v1/-gw/up/alarm",
        "eldercare/v1/" + "g" * 64 + "/up/alarm",
        "eldercare/v1/gw.1/up/alarm",
        "eldercare/v1/+/up/alarm",
        "eldercare/v1/gw-1\n/up/alarm",
    ],
)
def test_parse_topic_refuses_what_is_not_ours(topic: str) -> None:
    with pytest.raises(TopicError):
        parse_topic(topic)


def test_longest_gateway_id_is_accepted() -> None:
    gateway_id = "g" * 63
    assert parse_topic(f"eldercare/v1/{gateway_id}/up/alarm").gateway_id == gateway_id


@pytest.mark.parametrize("gateway_id", ["", "GW", "gw 1", "gw/1", "gw+", "gw#", "gw-1\n", "é"])
def test_invalid_gateway_ids_are_refused_everywhere(gateway_id: str) -> None:
    with pytest.raises(TopicError):
        validate_gateway_id(gateway_id)
    with pytest.raises(TopicError):
        TopicName(gateway_id, Channel.ALARM)
    with pytest.raises(TopicError):
        GatewayTopics(gateway_id)


def test_gateway_topics_name_its_own_subtree() -> None:
    topics = GatewayTopics("gw-1")
    assert topics.of(Channel.ALARM) == "eldercare/v1/gw-1/up/alarm"
    assert topics.of(Channel.RECEIPT) == "eldercare/v1/gw-1/down/receipt"
    assert topics.downlink_filter == "eldercare/v1/gw-1/down/#"
    assert UPLINK_FILTER == "eldercare/v1/+/up/#"
    for channel in Channel:
        name = parse_topic(topics.of(channel))
        assert (name.gateway_id, name.channel) == ("gw-1", channel)
