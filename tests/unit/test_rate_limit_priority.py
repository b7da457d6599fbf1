"""The rate budget's priorities (issue #16): placements never wait for a slot a read could have taken.

`exchange_clients.base.rate_limit`: an ORDER reserves at once and may use the whole bucket; a READ takes a slot only
when one is free now beyond `order_reserve`, and holds nothing while it waits. Fake clock for the arithmetic; the
asyncio test checks the order in which waiting callers are served (no timing assertion)."""

from __future__ import annotations

import asyncio

import pytest

from exchange_clients.base.rate_limit import ORDER, VenueRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_waiting_read_holds_no_slot_so_an_order_only_waits_for_requests_already_sent() -> None:
    clock = Clock()
    limiter = VenueRateLimiter("v", rate_per_second=10, burst=1, clock=clock)
    assert limiter.try_read() == 0.0  # sent now
    assert limiter.try_read() == pytest.approx(0.1)  # must wait: nothing taken
    assert limiter.try_read() == pytest.approx(0.1)  # still the same wait: the first waiter reserved nothing
    assert limiter.reserve() == pytest.approx(0.1)  # the order waits only for the read already sent
    clock.now += 0.1
    assert limiter.try_read() == pytest.approx(0.1)  # the order took that slot; the reads go after it


def test_reads_never_take_the_order_reserve() -> None:
    clock = Clock()
    limiter = VenueRateLimiter("v", rate_per_second=10, burst=3, order_reserve=2, clock=clock)
    assert limiter.try_read() == 0.0
    assert limiter.try_read() > 0  # the two other tokens are kept for orders
    assert [limiter.reserve(), limiter.reserve()] == [0.0, 0.0]  # two placements at once
    assert limiter.reserve() == pytest.approx(0.1)  # the bucket is empty now, for orders too
    clock.now += 1.0  # refilled
    assert [limiter.try_read(), limiter.try_read()] == [0.0, pytest.approx(0.1)]


def test_a_429_pause_holds_reads_and_orders() -> None:
    clock = Clock()
    limiter = VenueRateLimiter("v", rate_per_second=10, burst=5, order_reserve=2, clock=clock)
    limiter.penalise(2.0)
    assert limiter.try_read() == pytest.approx(2.0)
    assert limiter.reserve() == pytest.approx(2.0)


def test_bad_reserve_is_refused_naming_the_values() -> None:
    with pytest.raises(ValueError, match=r"v: order_reserve must be between 0 and burst - 1 = 2 \(got 3\)"):
        VenueRateLimiter("v", rate_per_second=10, burst=3, order_reserve=3)
    with pytest.raises(ValueError, match="priority must be"):
        asyncio.run(VenueRateLimiter("v", 10).acquire(priority="urgent"))  # type: ignore[arg-type]


async def test_an_order_is_served_before_reads_that_were_already_waiting_and_reads_keep_their_order() -> None:
    limiter = VenueRateLimiter("v", rate_per_second=50, burst=1)
    served: list[str] = []

    async def call(name: str, priority: str) -> None:
        await limiter.acquire(priority=priority)  # type: ignore[arg-type]
        served.append(name)

    await call("read-0", "read")  # empties the bucket
    reads = [asyncio.create_task(call(f"read-{i}", "read")) for i in (1, 2, 3)]
    await asyncio.sleep(0)  # the three reads are waiting now
    await call("order", ORDER)
    await asyncio.gather(*reads)
    assert served[:2] == ["read-0", "order"], served
    assert served[2:] == ["read-1", "read-2", "read-3"]  # reads among themselves: first come, first served
