"""The Redis event broker: what one process publishes, every process's subscribers get;
it outlives a Redis outage; a subscriber that falls behind is let go; the plugin provides
it as the app's broker."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import pytest
import redis

from core.events import Event, runtime
from plugins.cache_redis import broker as broker_module
from plugins.cache_redis.broker import RedisBroker, decode_event, encode_event
from plugins.cache_redis.config import RedisCacheSettings

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


def event(number: int, owner: str = "alice") -> Event:
    return Event(id=number, type="video.status_changed", subject=f"video-{number}",
                 owner_id=owner, occurred_at=dt.datetime(2026, 12, 2, 12, 0, number, tzinfo=dt.UTC),
                 data={"from": "IN_PROGRESS", "to": "COMPLETED", "reason": None})


def settings(url: str, prefix: str) -> RedisCacheSettings:
    return RedisCacheSettings(url=url, key_prefix=prefix, socket_timeout_seconds=2.0,
                              connect_timeout_seconds=2.0)


@contextlib.asynccontextmanager
async def broker_of(url: str, prefix: str) -> AsyncIterator[RedisBroker]:
    broker = RedisBroker(settings(url, prefix))
    try:
        yield broker
    finally:
        await broker.close()


async def next_event(events: AsyncIterator[Event], timeout: float = 5.0) -> Event:
    return await asyncio.wait_for(anext(events), timeout)


def test_an_event_survives_the_trip_through_redis():
    original = event(7)
    assert decode_event(encode_event(original)) == original


async def test_what_one_process_publishes_every_process_receives(redis_url, redis_prefix):
    async with broker_of(redis_url, redis_prefix) as first, \
            broker_of(redis_url, redis_prefix) as second, \
            second.subscribe() as on_second, first.subscribe() as on_first:
        for number in (1, 2, 3):
            await first.publish(event(number))
        assert [(await next_event(on_second)).id for _ in range(3)] == [1, 2, 3]
        assert [(await next_event(on_first)).id for _ in range(3)] == [1, 2, 3]


async def test_the_channel_is_under_the_plugins_key_prefix(redis_url, redis_prefix):
    raw = redis.asyncio.Redis.from_url(redis_url)
    pubsub = raw.pubsub()
    await pubsub.subscribe(f"{redis_prefix}:v1:events")
    try:
        async with broker_of(redis_url, redis_prefix) as broker:
            await broker.publish(event(1))
            message = None
            for _ in range(50):
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                if message:
                    break
            assert message is not None and decode_event(message["data"]).id == 1
        async with broker_of(redis_url, f"{redis_prefix}-other") as elsewhere, \
                elsewhere.subscribe() as other_deployment:
            async with broker_of(redis_url, redis_prefix) as broker:
                await broker.publish(event(2))
            with pytest.raises(TimeoutError):
                await next_event(other_deployment, timeout=0.5)
    finally:
        await pubsub.aclose()
        await raw.aclose()


async def test_subscribers_outlive_a_redis_outage(redis_server, caplog):
    async with broker_of(redis_server.url, "itube") as broker, \
            broker.subscribe() as events:
        await broker.publish(event(1))
        assert (await next_event(events)).id == 1
        redis_server.kill()
        with pytest.raises(Exception):  # noqa: B017 - whichever error redis-py raises
            await broker.publish(event(2))  # the dispatcher would offer it again
        for _ in range(100):
            if not broker.listening.is_set():
                break
            await asyncio.sleep(0.05)
        assert not broker.listening.is_set()
        redis_server.start()  # the same port
        await asyncio.wait_for(broker.listening.wait(), 15)
        await broker.publish(event(3))
        assert (await next_event(events)).id == 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "itube.cache_redis.broker"]
    assert sum("unavailable" in line for line in warnings) == 1  # once per outage
    assert any("answers again" in line for line in warnings)


async def test_a_subscriber_that_falls_behind_is_let_go(redis_url, redis_prefix, monkeypatch):
    monkeypatch.setattr(broker_module, "SUBSCRIBER_BACKLOG", 3)
    async with broker_of(redis_url, redis_prefix) as broker, \
            broker.subscribe() as slow, broker.subscribe() as keeping_up:
        for number in range(1, 6):
            await broker.publish(event(number))
            assert (await next_event(keeping_up)).id == number
        assert [(await next_event(slow)).id for _ in range(3)] == [1, 2, 3]
        with pytest.raises(StopAsyncIteration):
            await next_event(slow)  # its stream ends; the client resumes from the outbox


async def test_closing_the_broker_ends_its_subscriptions(redis_url, redis_prefix):
    broker = RedisBroker(settings(redis_url, redis_prefix))
    async with broker.subscribe() as events:
        await broker.close()
        with pytest.raises(StopAsyncIteration):
            await next_event(events)


def test_the_plugin_provides_the_apps_broker(make_config, make_client, redis_url, redis_prefix):
    config = make_config(["cache_redis"], plugins={"cache_redis": {"url": redis_url,
                                                                   "key_prefix": redis_prefix}})
    client = make_client(config)
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    assert isinstance(runtime(ctx).broker, RedisBroker)
    assert runtime(ctx).broker.channel == f"{redis_prefix}:v1:events"
