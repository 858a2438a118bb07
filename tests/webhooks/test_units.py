"""The settings' checks and the retry schedule, without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from core.app import create_app
from core.config import config_from_dict, load_config
from core.errors import ConfigError
from plugins.webhooks.config import WebhookEndpoint, WebhooksSettings, settings_problems
from plugins.webhooks.schedule import next_attempt, parse_retry_after
from tests.webhooks.receiver import SECRET

NOW = dt.datetime(2026, 12, 2, 14, 0, tzinfo=dt.UTC)
SCHEDULE = [5, 300, 1800]


def problems(production: bool = False, **settings) -> list[str]:
    return settings_problems(WebhooksSettings(**settings), production=production)


def one(url: str, secret: str = SECRET) -> dict[str, WebhookEndpoint]:
    return {"crm": WebhookEndpoint(url, secret)}


def test_a_good_endpoint_has_no_problem():
    assert problems(endpoints=one("https://hooks.example.com/itube"), production=True) == []


@pytest.mark.parametrize(("url", "production", "expected"), [
    ("ftp://example.com/", False, "expected https://... or http://..."),
    ("http://example.com/", True, "expected https://..."),
    ("https:///path", False, "names no host"),
    ("https://user:pw@example.com/", False, "a user or password in the URL"),
    ("https://10.0.0.8/hook", False, "10.0.0.8 is a private address"),
    ("https://[::1]/hook", False, "::1 is a loopback address"),
])
def test_bad_urls_are_named(url, production, expected):
    [problem] = problems(endpoints=one(url), production=production)
    assert problem.startswith("plugins.webhooks.endpoints.crm.url: ") and expected in problem


def test_a_private_literal_is_fine_when_allowed():
    assert problems(endpoints=one("http://127.0.0.1:9/"), allow_private_addresses=True) == []


@pytest.mark.parametrize(("secret", "expected"), [
    ("", "is empty"),
    ("not-a-whsec-secret-at-all-0123456789", "must start with 'whsec_'"),
    ("whsec_!!!not base64!!!", "followed by base64"),
    ("whsec_c2hvcnQ=", "must hold 24 to 64 bytes, holds 5"),
])
def test_bad_secrets_are_named_never_quoted(secret, expected):
    [problem] = problems(endpoints=one("https://example.com/", secret))
    assert problem.startswith("plugins.webhooks.endpoints.crm.secret: ") and expected in problem
    if secret:
        assert secret not in problem


def test_names_must_be_plain():
    found = problems(endpoints={"No Spaces": WebhookEndpoint("https://c.example/", SECRET)})
    assert found == ["plugins.webhooks.endpoints.No Spaces: the name must be 1-64 lowercase "
                     "letters, digits, '-' or '_'"]


def test_event_types_are_known_ones():
    endpoints = {"crm": WebhookEndpoint("https://a.example/", SECRET,
                                        event_types=["video.created", "video.create"])}
    [problem] = problems(endpoints=endpoints)
    assert problem.startswith("plugins.webhooks.endpoints.crm.event_types: unknown "
                              "'video.create' (expected \"*\" or some of: video.created, ")


def test_a_name_cannot_name_two_endpoints(tmp_path):
    path = tmp_path / "itube.toml"
    path.write_text('[plugins.webhooks.endpoints.crm]\nurl = "https://a.example/"\n'
                    '[plugins.webhooks.endpoints.crm]\nurl = "https://b.example/"\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, environ={})


def test_start_up_refuses_a_bad_secret_without_printing_it():
    leaked = "whsec_c2hvcnQ="
    config = config_from_dict({
        "app": {"plugins": ["webhooks"]},
        "database": {"url": "sqlite:///:memory:"},
        "plugins": {"webhooks": {"endpoints": {
            "crm": {"url": "https://example.com/", "secret": leaked}}}},
    }, environ={})
    with pytest.raises(ConfigError) as refused:
        create_app(config)
    assert "endpoints.crm.secret: must hold 24 to 64 bytes" in str(refused.value)
    assert leaked not in str(refused.value)


def test_a_missing_secret_variable_is_named():
    with pytest.raises(ConfigError, match="environment variable CRM_WEBHOOK_SECRET is not set"):
        config_from_dict({"plugins": {"webhooks": {"endpoints": {"crm": {
            "url": "https://example.com/", "secret": "env:CRM_WEBHOOK_SECRET"}}}}}, environ={})


def test_each_retry_waits_a_random_part_of_its_step():
    assert next_attempt(NOW, 1, SCHEDULE, jitter=lambda: 1.0) == NOW + dt.timedelta(seconds=5)
    assert next_attempt(NOW, 2, SCHEDULE, jitter=lambda: 0.5) == NOW + dt.timedelta(seconds=150)
    assert next_attempt(NOW, 3, SCHEDULE, jitter=lambda: 0.0) == NOW
    assert next_attempt(NOW, 4, SCHEDULE) is None


def test_retry_after_is_a_floor_within_the_schedule():
    assert next_attempt(NOW, 1, SCHEDULE, retry_after=60, jitter=lambda: 0.1) == (
        NOW + dt.timedelta(seconds=60))
    assert next_attempt(NOW, 1, SCHEDULE, retry_after=10**9, jitter=lambda: 0.1) == (
        NOW + dt.timedelta(seconds=1800))
    assert [parse_retry_after(v) for v in ("120", " 5 ", "", None, "-3",
                                           "Wed, 21 Oct 2026 07:28:00 GMT")] == [
        120.0, 5.0, None, None, None, None]
