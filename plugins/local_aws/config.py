"""Settings of the local AWS emulation."""

from __future__ import annotations

import attrs


@attrs.define
class LocalAwsSettings:
    # Provision into an emulator already running here instead of starting one in-process.
    endpoint_url: str = ""
    # Where the in-process emulator listens.
    host: str = "127.0.0.1"
    # The in-process emulator's port; 0 picks a free port.
    port: int = 0
    # The region the emulated resources live in.
    region: str = "us-east-1"
    # Name of the Cognito user pool provisioned (with its app client) at start-up.
    user_pool_name: str = "itube-local"
    # Name of the bucket provisioned for uploads.
    raw_bucket: str = "itube-raw-videos"
    # Name of the bucket provisioned for the transcoder's playable output.
    processed_bucket: str = "itube-processed-videos"
    # Name of the bucket provisioned for thumbnails.
    thumbnails_bucket: str = "itube-video-thumbnails"
    # Receives the raw bucket's ObjectCreated events (read by `itube transcoder-example`).
    queue_name: str = "itube-raw-video-events"
    # The EventBridge bus provisioned for the events_aws plugin's entries.
    event_bus_name: str = "itube-events"
    # Origins whose pages may PUT to upload URLs and GET media from the buckets (their CORS
    # rules); empty: [http] cors_origins, or any origin ("*") when that is empty too.
    bucket_cors_origins: list[str] = attrs.Factory(list)
    # The raw bucket's lifecycle rule aborts a multipart upload this many days after it
    # started (AbortIncompleteMultipartUpload); 0 sets no rule.
    abort_incomplete_multipart_days: int = 1
    # Tell the user-auth plugin to confirm sign-ups at once (there is no mailbox here).
    auto_confirm_sign_ups: bool = True
