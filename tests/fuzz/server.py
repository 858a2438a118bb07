"""A real itube process for the fuzzer: `uvicorn core.asgi:app` on a free port with the
embedded default's plugins (local AWS on the test's moto server, Cognito user auth, SigV4
static keys, video), on the database the test names."""

from __future__ import annotations

from pathlib import Path

import attrs
import orjson
from botocore.credentials import Credentials

from core.sessions import AuthRateLimits
from tests.support.server import UvicornProcess
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
# The key pair the service pass signs with; "transcoder" is the allowed principal.
SERVICE_KEY = Credentials("AKIAFUZZTRANSCODER01", "fuzz-transcoder-secret-0123456789abcdef")
START_TIMEOUT_SECONDS = 60


def _rate_limits_off() -> str:
    # The fuzzer checks what the routes do with their input; with the limits on, every
    # sign-up and sign-in after the first few would only see 429 (the limits have tests
    # of their own, tests/auth/test_ratelimit.py).
    return "\n".join(f'{field.name} = "off"' for field in attrs.fields(AuthRateLimits))


def write_config(path: Path, *, database: str, moto: str, host: str) -> None:
    path.write_text(f"""
[app]
plugins = ["local_aws", "auth_cognito", "internal_iam", "video"]

[server]
freeze_heap_after_startup = false

[database]
url = "{database}"
migrate_on_start = true

[logging]
level = "WARNING"
access_log = false

[plugins.local_aws]
endpoint_url = "{moto}"

[plugins.internal_iam]
mode = "static"
allowed_principals = ["transcoder"]
# Signed requests must be addressed to this server, as the fuzzer's are.
expected_hosts = ["{host}"]

[plugins.internal_iam.keys.{SERVICE_KEY.access_key}]
secret_access_key = "{SERVICE_KEY.secret_key}"
principal = "transcoder"

[plugins.auth_cognito]
secure_cookies = false

[plugins.auth_cognito.rate_limits]
{_rate_limits_off()}
""", encoding="utf-8")


class FuzzServer(UvicornProcess):
    """`uvicorn core.asgi:app` in a process of its own; its log goes to a file."""

    def __init__(self, workdir: Path, *, backend: str, database: str, moto: str) -> None:
        self.backend = backend
        config = workdir / "itube.toml"
        port = free_port()
        write_config(config, database=database, moto=moto, host=f"127.0.0.1:{port}")
        super().__init__(config, workdir / "server.log", port=port)

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        super().wait_ready(timeout)

    def errors_logged(self) -> list[str]:
        """Lines logged at ERROR or above, and bare tracebacks: an exception no handler
        turned into an answer is one of them (itube.errors, uvicorn.error)."""
        found = []
        for line in self.log_text().splitlines():
            try:
                level = orjson.loads(line).get("level")
            except orjson.JSONDecodeError:
                level = "ERROR" if line.startswith("Traceback") else None
            if level in ("ERROR", "CRITICAL"):
                found.append(line)
        return found
