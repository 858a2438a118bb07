"""The guide's verification programs (JavaScript and Perl, docs/webhooks.md) accept what
the Standard Webhooks library signs and refuse a changed body, another secret, an old
timestamp and a signature of another version."""

from __future__ import annotations

import base64
import datetime as dt
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from tests.webhooks.receiver import SECRET

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
OTHER_SECRET = "whsec_" + base64.b64encode(b"another secret of 32 bytes long!").decode()
BODY = b'{"type":"video.created","timestamp":"2026-12-02T14:00:00Z","data":{"id":"v1"}}'
RUNNERS = {"js": ("node", "verify.mjs"), "perl": ("perl", "verify.pl")}


def snippet(language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(encoding="utf-8"),
                        re.DOTALL)
    assert len(blocks) == 1, f"docs/webhooks.md should hold one {language} block"
    return blocks[0]


@pytest.fixture(params=sorted(RUNNERS))
def verify(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., bool]:
    command, name = RUNNERS[request.param]
    if shutil.which(command) is None:
        pytest.skip(f"{command} is not installed: the {request.param} example is not run")
    program = tmp_path / name
    program.write_text(snippet(request.param), encoding="utf-8")

    def run(headers: dict[str, str], body: bytes, secret: str = SECRET) -> bool:
        env = {"WEBHOOK_SECRET": secret, "WEBHOOK_ID": headers["webhook-id"],
               "WEBHOOK_TIMESTAMP": headers["webhook-timestamp"],
               "WEBHOOK_SIGNATURE": headers["webhook-signature"], "PATH": "/usr/bin:/bin"}
        done = subprocess.run([command, str(program)], input=body, env=env,
                              capture_output=True, timeout=30)
        assert done.returncode in (0, 1), done.stderr.decode(errors="replace")
        return done.returncode == 0

    return run


def signed(at: dt.datetime, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    signature = Webhook(secret).sign("42", at, body.decode())
    return {"webhook-id": "42", "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def test_a_genuine_delivery_is_accepted(verify):
    headers = signed(now())
    assert Webhook(SECRET).verify(BODY, headers)  # what the library accepts
    assert verify(headers, BODY)


def test_one_of_several_signatures_is_enough(verify):
    headers = signed(now())
    rotated = signed(now(), secret=OTHER_SECRET)["webhook-signature"]
    headers["webhook-signature"] = f"{rotated} {headers['webhook-signature']}"
    assert verify(headers, BODY)


def test_a_changed_body_another_secret_or_an_old_delivery_is_refused(verify):
    headers = signed(now())
    assert not verify(headers, BODY.replace(b"v1", b"v2"))
    assert not verify(headers, BODY, secret=OTHER_SECRET)
    assert not verify(signed(now() - dt.timedelta(minutes=6)), BODY)
    other_version = dict(headers, **{
        "webhook-signature": headers["webhook-signature"].replace("v1,", "v2,")})
    assert not verify(other_version, BODY)
