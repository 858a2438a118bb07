"""Turns at the database pool (`core.db.turns`): taken in order, each wait bounded by the
timeout from the waiter's own arrival, and no turn lost to a caller who leaves."""

from __future__ import annotations

import asyncio

import pytest

from core.db.turns import TIMER_SLACK_SECONDS, Turns

TIMEOUT = 0.2
TURNS = 50  # loop turns to wait for a condition before giving up


async def _held(turns: Turns, count: int) -> None:
    for _ in range(count):
        await turns.take()


async def _until(condition) -> None:
    """Yield to the loop until `condition()` holds (bounded: a hang fails the test)."""
    for _ in range(TURNS):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def _taken_in_order() -> list[int]:
    turns = Turns(1, timeout=5)
    await _held(turns, 1)
    served: list[int] = []

    async def wait(n: int) -> None:
        await turns.take()
        served.append(n)
        turns.give_back()

    waiters = [asyncio.create_task(wait(n)) for n in range(10)]
    await _until(lambda: turns.waiting == 10)
    turns.give_back()
    await asyncio.gather(*waiters)
    return served


def test_waiters_take_their_turns_in_the_order_they_asked():
    assert asyncio.run(_taken_in_order()) == list(range(10))


async def _timed_out() -> list[tuple[float, float]]:
    """(arrival, when its TimeoutError came) for two waiters arriving apart."""
    turns = Turns(1, timeout=TIMEOUT)
    await _held(turns, 1)
    loop = asyncio.get_running_loop()
    times: list[tuple[float, float]] = []

    async def wait() -> None:
        arrived = loop.time()
        with pytest.raises(TimeoutError):
            await turns.take()
        times.append((arrived, loop.time()))

    first = asyncio.create_task(wait())
    await _until(lambda: turns.waiting == 1)
    # The second arrives half a timeout later: the gap is what is measured, not an order.
    await asyncio.sleep(TIMEOUT / 2)
    await asyncio.gather(first, wait())
    assert turns.waiting == 0
    return times


def test_each_waiter_times_out_a_timeout_after_its_own_arrival():
    for arrived, timed_out in asyncio.run(_timed_out()):
        assert arrived + TIMEOUT - TIMER_SLACK_SECONDS <= timed_out < arrived + TIMEOUT + 1


async def _after_a_cancelled_waiter() -> tuple[int, bool]:
    turns = Turns(1, timeout=5)
    await _held(turns, 1)
    leaving = asyncio.create_task(turns.take())
    staying = asyncio.create_task(turns.take())
    await _until(lambda: turns.waiting == 2)
    leaving.cancel()
    await _until(leaving.done)
    waiting = turns.waiting
    turns.give_back()
    await asyncio.wait_for(staying, timeout=5)
    return waiting, leaving.cancelled()


def test_a_waiter_cancelled_leaves_the_queue_and_the_next_one_is_served():
    waiting, cancelled = asyncio.run(_after_a_cancelled_waiter())
    assert cancelled and waiting == 1


async def _handed_a_turn_then_cancelled() -> bool:
    """A waiter is handed a turn and cancelled before it resumes: the turn goes on."""
    turns = Turns(1, timeout=5)
    await _held(turns, 1)
    handed = asyncio.create_task(turns.take())
    await _until(lambda: turns.waiting == 1)
    turns.give_back()  # the waiter's turn is set, but it has not run yet
    handed.cancel()
    await _until(handed.done)
    assert handed.cancelled()
    try:
        await asyncio.wait_for(turns.take(), timeout=1)
    except TimeoutError:
        return False
    return True


def test_a_turn_handed_to_a_waiter_cancelled_before_it_ran_is_not_lost():
    assert asyncio.run(_handed_a_turn_then_cancelled())


async def _free_after_a_timeout() -> int:
    turns = Turns(2, timeout=0.05)
    await _held(turns, 2)
    with pytest.raises(TimeoutError):
        await turns.take()
    turns.give_back()
    turns.give_back()
    await asyncio.wait_for(_held(turns, 2), timeout=1)  # both free again, no wait
    return turns.waiting


def test_turns_given_back_after_a_timeout_are_free_again():
    assert asyncio.run(_free_after_a_timeout()) == 0
