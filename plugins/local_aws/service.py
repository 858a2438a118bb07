"""Start an in-process AWS emulator (moto's server) and provision what itube needs."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from core.aws import AwsEnvironment
from core.errors import ConfigError
from plugins.local_aws.config import LocalAwsSettings

# What a browser reads from an upload's answer: the ETag (a part's, to complete a multipart
# upload) and the additional checksum S3 computed or checked.
EXPOSED_HEADERS = ["ETag", "x-amz-checksum-crc32", "x-amz-checksum-crc32c",
                   "x-amz-checksum-crc64nvme", "x-amz-checksum-sha1", "x-amz-checksum-sha256",
                   "x-amz-checksum-type"]
# Browsers may upload to and read from the emulated buckets from any page.
ANY_ORIGIN = ("*",)
# The emulator accepts any credentials; these are not secrets.
EMULATOR_KEY_ID = "testing"
EMULATOR_SECRET = "testing"
PASSWORD_POLICY = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
}
log = logging.getLogger("itube.local_aws")


class Emulator:
    """moto's server, on a socket bound before anything else happens: a busy port is an
    error at once. (moto's own threaded server binds inside its thread, and when that fails
    its `start()` waits forever.)"""

    def __init__(self, host: str, port: int) -> None:
        with _listen(host, port) as listener:
            self._server = _moto_server(listener)  # serves on a duplicate of the socket
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="local-aws-emulator")

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        raise ConfigError(
            f"plugins.local_aws: cannot listen on {host}:{port} for the AWS emulator "
            f"({reason}): stop what uses the port, or set [plugins.local_aws] port to "
            "another one (0 picks a free port)"
        ) from None


def _moto_server(listener: socket.socket) -> Any:
    try:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server
    except ImportError:
        raise ConfigError(
            "local_aws needs the AWS emulator: pip install 'itube[local]' (make serve and "
            "make test install it)"
        ) from None
    host, port = listener.getsockname()[:2]
    app = DomainDispatcherApplication(create_backend_app)
    return make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler,
                       fd=listener.fileno())


def start_emulator(settings: LocalAwsSettings) -> tuple[Emulator, str]:
    """Start the emulator on `settings.host`/`port`; returns it and its endpoint URL."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    emulator = Emulator(settings.host, settings.port)
    emulator.start()
    return emulator, emulator.endpoint


def _client(service: str, endpoint: str, region: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=EMULATOR_KEY_ID,
        aws_secret_access_key=EMULATOR_SECRET,
        config=BotoConfig(signature_version="s3v4" if service == "s3" else None),
    )


def provision(
    settings: LocalAwsSettings, endpoint: str, web_origins: Sequence[str] = ()
) -> AwsEnvironment:
    """Create the user pool and client, the buckets (browsers at `web_origins` may upload
    to and read from them), the upload-events queue and the event bus."""
    region = settings.region
    resources = {
        **_provision_cognito(settings, _client("cognito-idp", endpoint, region), endpoint),
        **_provision_storage(settings, _client("s3", endpoint, region),
                             _client("sqs", endpoint, region), web_origins),
        **_provision_event_bus(settings, _client("events", endpoint, region)),
        "sts_endpoint_url": endpoint,
    }
    if settings.auto_confirm_sign_ups:
        resources["cognito_auto_confirm"] = "true"
    log.info("local AWS emulation ready", extra={"endpoint": endpoint})
    return AwsEnvironment(
        endpoint_url=endpoint,
        region=region,
        access_key_id=EMULATOR_KEY_ID,
        secret_access_key=EMULATOR_SECRET,
        resources=resources,
    )


def _provision_cognito(settings: LocalAwsSettings, cognito: Any, endpoint: str) -> dict[str, str]:
    pool = cognito.create_user_pool(
        PoolName=settings.user_pool_name,
        Policies={"PasswordPolicy": PASSWORD_POLICY},
        AutoVerifiedAttributes=["email"],
        Schema=[{"Name": "name", "AttributeDataType": "String", "Mutable": True}],
    )["UserPool"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="itube-api",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    return {
        "cognito_user_pool_id": pool["Id"],
        "cognito_client_id": client["ClientId"],
        "cognito_client_secret": client["ClientSecret"],
        "cognito_jwks_url": f"{endpoint}/{pool['Id']}/.well-known/jwks.json",
        "cognito_issuer": f"https://cognito-idp.{settings.region}.amazonaws.com/{pool['Id']}",
        "cognito_endpoint_url": endpoint,
    }


def _provision_storage(
    settings: LocalAwsSettings, s3: Any, sqs: Any, web_origins: Sequence[str]
) -> dict[str, str]:
    for bucket in (settings.raw_bucket, settings.processed_bucket, settings.thumbnails_bucket):
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=bucket)
        if web_origins:
            s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=_cors(web_origins))
    if settings.abort_incomplete_multipart_days > 0:
        s3.put_bucket_lifecycle_configuration(
            Bucket=settings.raw_bucket,
            LifecycleConfiguration=lifecycle(settings.abort_incomplete_multipart_days))
    queue_url = sqs.create_queue(QueueName=settings.queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=settings.raw_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    return {
        "s3_raw_bucket": settings.raw_bucket,
        "s3_processed_bucket": settings.processed_bucket,
        "s3_thumbnails_bucket": settings.thumbnails_bucket,
        "sqs_raw_events_queue_url": queue_url,
    }


def _provision_event_bus(settings: LocalAwsSettings, events: Any) -> dict[str, str]:
    with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
        events.create_event_bus(Name=settings.event_bus_name)
    return {"eventbridge_bus_name": settings.event_bus_name}


def bucket_origins(settings: LocalAwsSettings, web_origins: Sequence[str]) -> list[str]:
    """The origins the buckets' CORS rules allow: `bucket_cors_origins`, else the API's own
    browser origins (`[http] cors_origins`), else any."""
    return list(settings.bucket_cors_origins or web_origins or ANY_ORIGIN)


def _cors(web_origins: Sequence[str]) -> dict[str, Any]:
    """Browsers at these origins PUT to the presigned upload URLs (with the headers the API
    returns, checksums among them), read the ETag and checksum S3 answers, and GET media."""
    return {"CORSRules": [{"AllowedOrigins": list(web_origins),
                           "AllowedMethods": ["GET", "PUT", "HEAD"],
                           "AllowedHeaders": ["*"], "ExposeHeaders": list(EXPOSED_HEADERS),
                           "MaxAgeSeconds": 3600}]}


def lifecycle(days: int) -> dict[str, Any]:
    """The raw bucket's rule: S3 aborts a multipart upload `days` after it started (the
    parts of an upload nobody completes are stored, and billed, until then)."""
    return {"Rules": [{"ID": "abort-incomplete-multipart-uploads", "Status": "Enabled",
                       "Filter": {"Prefix": ""},
                       "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days}}]}
