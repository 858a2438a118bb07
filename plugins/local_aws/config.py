"""Settings of the local AWS emulation."""

from __future__ import annotations

import attrs


@attrs.define
class LocalAwsSettings:
    # Provision into an emulator already running here instead of starting one in-process.
    endpoint_url: str = ""
    # Where the in-process emulator listens; port 0 picks a free port.
    host: str = "127.0.0.1"
    port: int = 0
    region: str = "us-east-1"
    user_pool_name: str = "itube-local"
    raw_bucket: str = "itube-raw-videos"
    processed_bucket: str = "itube-processed-videos"
    thumbnails_bucket: str = "itube-video-thumbnails"
    # Receives the raw bucket's ObjectCreated events (read by `itube transcoder-example`).
    queue_name: str = "itube-raw-video-events"
    # Tell the user-auth plugin to confirm sign-ups at once (there is no mailbox here).
    auto_confirm_sign_ups: bool = True
