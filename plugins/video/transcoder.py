"""`itube transcoder-example`: a minimal transcoder driving the signed internal API.

It reads the queue of raw-bucket ObjectCreated events, looks each upload's video up by
its S3 key, "transcodes" it by copying the object to the processed bucket under the same
key (where playback URLs point), and reports COMPLETED (or FAILED with a reason: an empty
object). An upload whose metadata is not saved yet (404) is left on the queue and
retried later. It signs its requests with whichever service-auth strategy the config
loads (`service_client_auth`), so it shows how a service calls the internal routes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote_plus

import httpx

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
