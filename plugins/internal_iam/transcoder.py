"""`itube transcoder-example`: a minimal transcoder driving the signed internal API.

It reads the queue of raw-bucket ObjectCreated events, looks each upload's video up by
its S3 key, "transcodes" it by copying the object to the processed bucket under the same
key (where playback URLs point), and reports COMPLETED (or FAILED with a reason: an empty
object). An upload whose metadata is not saved yet (404) is left on the queue and
retried later. It shows the moving parts and how a service signs its requests.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote_plus

import boto3
import httpx
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials

from core.config import load_config
from plugins.internal_iam.client import SigV4Signer, StsProofSigner
from plugins.internal_iam.config import InternalIamSettings

VIDEOS = "/api/v1/upload/videos"
TEST_EVENT = "s3:TestEvent"
EMPTY_UPLOAD = "the uploaded object is empty (0 bytes)"


class TranscoderExample:
    """Consumes upload events and reports each video's status through the signed API."""

    def __init__(
        self,
        api: httpx.Client,
        sqs: Any,
        queue_url: str,
        *,
        auth: httpx.Auth | None = None,
        visibility_timeout: int = 10,
        out: Callable[[str], None] = print,
        s3: Any = None,
        processed_bucket: str = "",
    ) -> None:
        self.api = api
        self.s3 = s3
        self.processed_bucket = processed_bucket
        self.sqs = sqs
        self.queue_url = queue_url
        self.auth = auth
        self.visibility_timeout = visibility_timeout
        self.out = out
        self.outcomes: Counter[str] = Counter()

    def drain(self, wait_seconds: int = 1) -> Counter[str]:
        """Handle what the queue holds now, then return the outcome counts. Stops at an
        empty receive, or when only messages already handled in this drain come back."""
        seen: set[str] = set()
        while True:
            ids = self.poll(wait_seconds, skip=seen)
            if not ids or ids <= seen:
                return self.outcomes
            seen |= ids

    def run_forever(self, wait_seconds: int = 20) -> None:
        while True:
            self.poll(wait_seconds)

    def poll(self, wait_seconds: int, skip: frozenset[str] | set[str] = frozenset()
             ) -> set[str]:
        """One receive; returns the ids of the messages that arrived. Messages in `skip`
        (already handled in this drain) are left for a later run."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=self.visibility_timeout,
        ).get("Messages", [])
        for message in messages:
            if message["MessageId"] in skip:
                continue
            if self.handle_message(message):
                self.sqs.delete_message(QueueUrl=self.queue_url,
                                        ReceiptHandle=message["ReceiptHandle"])
        return {message["MessageId"] for message in messages}

    def handle_message(self, message: dict[str, Any]) -> bool:
        """True when the message is done with (delete it), False to see it again later."""
        try:
            event = json.loads(message["Body"])
        except (ValueError, KeyError):
            self._note("skipped", "a message that is not an S3 event")
            return True
        if event.get("Event") == TEST_EVENT:
            self._note("skipped", "the queue's s3:TestEvent")
            return True
        outcomes = [self.handle_record(record) for record in event.get("Records", [])]
        return all(outcome not in {"waiting", "error"} for outcome in outcomes)

    def handle_record(self, record: dict[str, Any]) -> str:
        obj = record.get("s3", {}).get("object", {})
        key = unquote_plus(obj.get("key", ""))
        found = self.api.get(f"{VIDEOS}/by-key/{quote(key, safe='/')}", auth=self._auth())
        if found.status_code == 404:
            return self._note("waiting", f"{key}: no metadata saved yet, will retry")
        if found.status_code != 200:
            return self._note("error", f"{key}: lookup answered {_problem(found)}")
        video_id = found.json()["video_id"]
        update: dict[str, Any] = {"status": "COMPLETED"}
        if obj.get("size") == 0:
            update = {"status": "FAILED", "failure_reason": EMPTY_UPLOAD}
        else:
            self.publish(record.get("s3", {}).get("bucket", {}).get("name", ""), key)
        reported = self.api.patch(f"{VIDEOS}/{video_id}/status", json=update, auth=self._auth())
        if reported.status_code == 409:
            return self._note("conflict", f"{key}: {_problem(reported)}")
        if reported.status_code != 200:
            return self._note("error", f"{key}: status report answered {_problem(reported)}")
        status = update["status"]
        return self._note(status.lower(), f"{key}: video {video_id} is {status}")

    def publish(self, raw_bucket: str, key: str) -> None:
        """The stand-in for transcoding: the processed rendition is the upload itself."""
        if self.s3 is not None and self.processed_bucket and raw_bucket:
            self.s3.copy_object(Bucket=self.processed_bucket, Key=key,
                                CopySource={"Bucket": raw_bucket, "Key": key})

    def _auth(self) -> Any:
        return self.auth if self.auth is not None else httpx.USE_CLIENT_DEFAULT

    def _note(self, outcome: str, text: str) -> str:
        self.outcomes[outcome] += 1
        self.out(f"{outcome:>9}  {text}")
        return outcome


def _problem(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", "")
    except ValueError:
        detail = ""
    return f"{response.status_code} {detail}".strip()


# -- the command -----------------------------------------------------------------------------


def add_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "transcoder-example",
        help="mark uploaded videos COMPLETED through the signed internal API",
        description=__doc__,
    )
    parser.add_argument("--once", action="store_true",
                        help="handle what the queue holds now, then exit")
    parser.add_argument("--api-url", help="the running API (default: [plugins.internal_iam."
                        "example] api_url)")
    parser.add_argument("--queue-url", help="the upload-events queue (default: looked up by "
                        "[plugins.internal_iam.example] queue_name)")
    parser.add_argument("--wait-seconds", type=int, default=None,
                        help="SQS long-poll wait (default 20, or 1 with --once)")
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    from core.app import prepare  # the CLI only: loading the app's plugins is not free

    ctx = prepare(load_config(args.config))
    settings: InternalIamSettings = ctx.settings("internal_iam")
    region = settings.region or ctx.config.aws.region
    example = settings.example
    try:
        auth = example_signer(settings, region)
    except LookupError as exc:
        print(f"transcoder-example: {exc}", file=sys.stderr)
        return 2
    sqs, s3 = (boto3.client(
        service,
        region_name=region,
        endpoint_url=example.aws_endpoint_url or ctx.config.aws.endpoint_url or None,
        aws_access_key_id=example.aws_access_key_id or None,
        aws_secret_access_key=example.aws_secret_access_key or None,
        config=BotoConfig(signature_version="s3v4"),
    ) for service in ("sqs", "s3"))
    queue_url = (args.queue_url or example.queue_url
                 or sqs.get_queue_url(QueueName=example.queue_name)["QueueUrl"])
    with httpx.Client(base_url=args.api_url or example.api_url, auth=auth, timeout=10) as api:
        transcoder = TranscoderExample(api, sqs, queue_url, s3=s3,
                                       processed_bucket=example.processed_bucket)
        print(f"reading {queue_url}; reporting to {api.base_url}", file=sys.stderr)
        if args.once:
            outcomes = transcoder.drain(1 if args.wait_seconds is None else args.wait_seconds)
            print(json.dumps(dict(outcomes), sort_keys=True))
            return 1 if outcomes["error"] else 0
        try:
            transcoder.run_forever(20 if args.wait_seconds is None else args.wait_seconds)
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
    return 0


def example_signer(settings: InternalIamSettings, region: str) -> httpx.Auth:
    """static mode: a configured key pair; sts mode: boto3's credential chain."""
    if settings.mode == "static":
        key_id = settings.example.access_key_id or next(iter(settings.keys), "")
        key = settings.keys.get(key_id)
        if key is None:
            raise LookupError(f"no key {key_id!r} under [plugins.internal_iam.keys]")
        credentials = Credentials(key_id, key.secret_access_key, key.session_token or None)
        return SigV4Signer(credentials, region=region, service=settings.service)
    if settings.mode == "sts":
        credentials = boto3.Session().get_credentials()
        if credentials is None:
            raise LookupError("sts mode signs with boto3's credentials; none were found")
        endpoint = (settings.sts.endpoint_url or settings.example.aws_endpoint_url
                    or f"https://sts.{region}.amazonaws.com")
        return StsProofSigner(credentials, sts_endpoint_url=endpoint, sts_region=region,
                              server_id=settings.sts.server_id)
    raise LookupError("gateway mode: send the example's requests through API Gateway")
