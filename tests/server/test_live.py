"""The live hub: fan-out from another thread, and a slow subscriber is cut off, not fed holes."""

from __future__ import annotations

import asyncio
import threading

from server.live import QUEUE_LIMIT, LiveHub, is_overflow


def test_events_published_from_another_thread_reach_every_subscriber_in_order() -> None:
    async def scenario() -> list[list[int]]:
        hub = LiveHub()
        hub.bind(asyncio.get_running_loop())
        async with hub.subscribe() as first, hub.subscribe() as second:
            publisher = threading.Thread(
                target=lambda: [hub.publish({"type": "t", "n": n}) for n in range(5)]
            )
            publisher.start()
            publisher.join()
            got = []
            for queue in (first, second):
                got.append([(await asyncio.wait_for(queue.get(), 5))["n"] for _ in range(5)])
            return got

    assert asyncio.run(scenario()) == [[0, 1, 2, 3, 4]] * 2


def test_subscriber_that_falls_behind_is_disconnected_and_others_carry_on() -> None:
    async def scenario() -> tuple[bool, int, int]:
        hub = LiveHub()
        hub.bind(asyncio.get_running_loop())
        async with hub.subscribe() as slow, hub.subscribe() as fast:
            for n in range(QUEUE_LIMIT + 10):
                hub._fan_out({"type": "t", "n": n})
                if not fast.empty():
                    fast.get_nowait()
            items = [slow.get_nowait() for _ in range(slow.qsize())]
            return is_overflow(items[-1]), hub.subscriber_count, len(items)

    overflowed, remaining, delivered = asyncio.run(scenario())
    assert overflowed  # the slow one is told to resync instead of silently missing events
    assert remaining == 1
    assert delivered == QUEUE_LIMIT


def test_disconnect_all_ends_every_stream() -> None:
    async def scenario() -> bool:
        hub = LiveHub()
        hub.bind(asyncio.get_running_loop())
        async with hub.subscribe() as queue:
            hub.disconnect_all()
            event = await asyncio.wait_for(queue.get(), 5)
            return is_overflow(event) and hub.subscriber_count == 0

    assert asyncio.run(scenario())


def test_a_held_condition_reaches_later_subscribers_until_released() -> None:
    async def scenario() -> tuple[list[str], list[str], int]:
        hub = LiveHub()
        hub.bind(asyncio.get_running_loop())
        async with hub.subscribe() as early:
            hub.hold("store", {"type": "store.fault"})
            seen_early = [(await asyncio.wait_for(early.get(), 5))["type"]]
            async with hub.subscribe() as late:  # connects while the condition lasts
                seen_late = [(await asyncio.wait_for(late.get(), 5))["type"]]
                hub.release("store", {"type": "store.ok"})
                seen_late.append((await asyncio.wait_for(late.get(), 5))["type"])
            seen_early.append((await asyncio.wait_for(early.get(), 5))["type"])
            async with hub.subscribe() as after:  # connects once it is over
                return seen_early, seen_late, after.qsize()

    early, late, after = asyncio.run(scenario())
    assert early == ["store.fault", "store.ok"]
    assert late == ["store.fault", "store.ok"]  # the condition first, then its end
    assert after == 0  # released: a console connecting now hears nothing of it
