"""The app's webhooks: the sink, the sender and the delivery worker, in
`ctx.state["webhooks"]` from `startup` to `shutdown`."""

from __future__ import annotations

import asyncio
import logging

import attrs

from core.context import AppContext
from plugins.webhooks import queries
from plugins.webhooks.config import WebhooksSettings
from plugins.webhooks.sender import WebhookSender
from plugins.webhooks.service import config_digest
from plugins.webhooks.sink import WebhookSink
from plugins.webhooks.worker import DeliveryWorker

NAME = "webhooks"
log = logging.getLogger("itube.webhooks")


@attrs.define
class Webhooks:
    settings: WebhooksSettings
    sink: WebhookSink
    sender: WebhookSender
    worker: DeliveryWorker
    task: asyncio.Task[None] | None = None


async def start(ctx: AppContext) -> Webhooks:
    """Make the app's sink, sender and worker; enable again each endpoint disabled under
    another config; run the worker in the background unless `poll_seconds` is 0."""
    settings: WebhooksSettings = ctx.settings(NAME)
    sender = WebhookSender(settings)
    worker = DeliveryWorker(settings, sender)
    endpoints = settings.named_endpoints()
    running = Webhooks(settings, WebhookSink(endpoints, worker.wake.set), sender, worker)
    enabled_again = await queries.sync_states(
        {endpoint.name: config_digest(endpoint) for endpoint in endpoints})
    for name in enabled_again:
        log.info("webhook endpoint %s enabled again: its config changed", name,
                 extra={"endpoint": name})
    if settings.poll_seconds > 0:
        running.task = asyncio.create_task(worker.run_forever(), name="webhook-delivery-worker")
    ctx.state[NAME] = running
    return running


async def stop(ctx: AppContext) -> None:
    """Let the worker finish the pass in hand, then close the connections."""
    running: Webhooks | None = ctx.state.pop(NAME, None)
    if running is None:
        return
    if running.task is not None:
        running.worker.stop()
        await running.task
    await running.sender.aclose()


def webhooks(ctx: AppContext) -> Webhooks:
    running: Webhooks = ctx.state[NAME]
    return running
