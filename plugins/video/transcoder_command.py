"""`itube transcoder-example`: runs `TranscoderExample` against a running API, signing with
whichever service-auth strategy the config loads, reading the upload events from SQS.

The API is found the way `make serve` was started: `--api-url`, else the `PORT` the
Makefile passes (`make serve PORT=9000`) on `[server] host`, else
`[plugins.transcoder_example] api_url`, else `[server] host` and `port`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

import attrs
import boto3
import httpx
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from core.config import Config, ServerSection, secret
from core.context import AppContext
from core.errors import ConfigError
from plugins.video.transcoder import TranscoderExample

SECTION = "transcoder_example"
# A server listening on every address is reached on the loopback one.
_ANY_ADDRESS = {"", "0.0.0.0", "::", "[::]"}


@attrs.define
class TranscoderExampleSettings:
    """Where `itube transcoder-example` finds the API and the upload-events queue."""

    # Base URL of the running API; empty: derived from `PORT` and `[server]`.
    api_url: str = ""
    # SQS and S3 endpoint; empty means AWS.
    aws_endpoint_url: str = ""
    # Access key id for SQS and S3; empty means boto3's own credential chain.
    aws_access_key_id: str = secret()
    # The secret access key of `aws_access_key_id`.
    aws_secret_access_key: str = secret()
    # The queue of raw-bucket ObjectCreated events, by URL; empty: looked up by `queue_name`.
    queue_url: str = ""
    # The name of that queue, used when `queue_url` is empty.
    queue_name: str = "itube-raw-video-events"
    # Where the "transcoded" copy and the HLS ladder (under `<key>/hls/`) go.
    processed_bucket: str = "itube-processed-videos"


class ExampleStopped(Exception):
    """Something the example depends on does not answer; the message says what."""


def add_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "transcoder-example",
        help="publish an HLS ladder of each upload and report it COMPLETED through the "
        "signed internal API",
        description="Read the raw bucket's upload events from SQS and report each video "
        "COMPLETED (or FAILED: an empty upload) through the internal API, signed the way "
        "the loaded service-auth plugin (internal_iam or internal_token) verifies.",
    )
    parser.add_argument("--once", action="store_true",
                        help="handle what the queue holds now, then exit")
    parser.add_argument("--api-url", help="the running API (default: $PORT on [server] host, "
                        "else [plugins.transcoder_example] api_url, else [server] host:port)")
    parser.add_argument("--queue-url", help="the upload-events queue (default: looked up by "
                        "[plugins.transcoder_example] queue_name)")
    parser.add_argument("--wait-seconds", type=int, default=None,
                        help="SQS long-poll wait (default 20, or 1 with --once)")
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    from core.app import prepare  # the CLI only: loading the app's plugins is not free
    from core.config import load_config

    ctx = prepare(load_config(args.config))
    try:
        return _run(ctx, args)
    except ExampleStopped as exc:
        print(f"transcoder-example: {exc}", file=sys.stderr)
        return 1


def _run(ctx: AppContext, args: argparse.Namespace) -> int:
    auth = client_auth(ctx)
    where = example_settings(ctx)
    url = api_url(args.api_url, where.api_url, ctx.config.server)
    with httpx.Client(base_url=url, auth=auth, timeout=10) as api:
        check_api(api)
        sqs, s3 = (aws_client(ctx.config, where, service) for service in ("sqs", "s3"))
        queue_url = args.queue_url or where.queue_url or _queue_url(sqs, where.queue_name)
        transcoder = TranscoderExample(api, sqs, queue_url, s3=s3,
                                       processed_bucket=where.processed_bucket)
        print(f"reading {queue_url}; reporting to {api.base_url}", file=sys.stderr)
        try:
            if args.once:
                outcomes = transcoder.drain(1 if args.wait_seconds is None else args.wait_seconds)
                print(json.dumps(dict(outcomes), sort_keys=True))
                return 1 if outcomes["error"] else 0
            transcoder.run_forever(20 if args.wait_seconds is None else args.wait_seconds)
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
        except httpx.TransportError as exc:
            raise ExampleStopped(f"the API at {url} stopped answering ({_reason(exc)})") from None
        except (BotoCoreError, ClientError) as exc:
            raise ExampleStopped(f"the upload-events queue: {exc}") from None
    return 0


def client_auth(ctx: AppContext) -> httpx.Auth:
    """The loaded service-auth strategy's signer; a ConfigError when none offers one."""
    auth = ctx.pm.hook.service_client_auth(config=ctx.config, settings=ctx.plugin_settings)
    if auth is None:
        raise ConfigError(f"{ctx.config.source}: transcoder-example signs its requests with "
                          "the service-auth plugin, and none is loaded (add internal_iam or "
                          "internal_token to [app] plugins)")
    return auth


def example_settings(ctx: AppContext) -> TranscoderExampleSettings:
    """`[plugins.transcoder_example]`, as configured."""
    settings: TranscoderExampleSettings = ctx.settings(SECTION)
    return settings


def api_url(explicit: str | None, configured: str, server: ServerSection,
            environ: Mapping[str, str] | None = None) -> str:
    """`--api-url`, else `$PORT` on `[server] host`, else the configured URL, else
    `[server] host` and `port`: where `make serve` (or `itube serve`) listens."""
    if explicit:
        return explicit
    port = (os.environ if environ is None else environ).get("PORT", "").strip()
    host = "127.0.0.1" if server.host in _ANY_ADDRESS else server.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if port:
        if not port.isdigit():
            raise ExampleStopped(f"PORT={port!r} is not a port number")
        return f"http://{host}:{port}"
    return configured or f"http://{host}:{server.port}"


def check_api(api: httpx.Client) -> None:
    """Fail in one line, before any message is taken off the queue, when nothing answers."""
    try:
        api.get("/healthz", auth=None)
    except httpx.TransportError as exc:
        raise ExampleStopped(
            f"the API at {api.base_url} does not answer ({_reason(exc)}); start it with "
            "`make serve` (or `itube serve`), or say where it is with --api-url"
        ) from None


def aws_client(config: Config, where: TranscoderExampleSettings, service: str) -> Any:
    return boto3.client(
        service,
        region_name=config.aws.region,
        endpoint_url=where.aws_endpoint_url or config.aws.endpoint_url or None,
        aws_access_key_id=where.aws_access_key_id or None,
        aws_secret_access_key=where.aws_secret_access_key or None,
        config=BotoConfig(signature_version="s3v4"),
    )


def _queue_url(sqs: Any, name: str) -> str:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except (BotoCoreError, ClientError) as exc:
        raise ExampleStopped(f"cannot find the upload-events queue {name!r}: {exc}") from None


def _reason(exc: httpx.TransportError) -> str:
    return type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
