"""Start-up refuses service-auth settings that are unusable or unsafe, and the embedded
default's development key pair never reaches production."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from core.app import prepare
from core.config import config_from_dict, masked
from core.errors import ConfigError
from plugins.internal_iam.config import (
    DEVELOPMENT_ACCESS_KEY_ID,
    DEVELOPMENT_SECRET_ACCESS_KEY,
)

DEFAULT_TOML = Path(__file__).resolve().parents[2] / "config" / "default.toml"
GOOD_KEY = {"AKIAPRODTRANSCODER01": {"secret_access_key": "x" * 40, "principal": "transcoder"}}
HOSTS = ["api.example.com"]
PRODUCTION_TOML = DEFAULT_TOML.parent / "production.toml"


def load(plugin: str, settings: dict[str, Any], environment: str = "development") -> Any:
    config = config_from_dict(
        {"app": {"plugins": [plugin], "environment": environment},
         "plugins": {plugin: settings}},
        source="<test>", environ={},
    )
    return prepare(config)


def refused(plugin: str, settings: dict[str, Any], environment: str = "development") -> str:
    with pytest.raises(ConfigError) as error:
        load(plugin, settings, environment)
    return str(error.value)


def default_section() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_TOML.read_text())["plugins"]["internal_iam"]


def test_the_embedded_default_signs_with_the_development_pair():
    settings = load("internal_iam", default_section()).settings("internal_iam")
    key = settings.keys[DEVELOPMENT_ACCESS_KEY_ID]
    assert key.secret_access_key == DEVELOPMENT_SECRET_ACCESS_KEY
    assert settings.mode == "static"


def test_production_refuses_the_development_key_pair():
    message = refused("internal_iam", default_section(), "production")
    assert "development key pair" in message
    assert DEVELOPMENT_SECRET_ACCESS_KEY not in message


def test_production_accepts_its_own_keys():
    settings = {"allowed_principals": ["transcoder"], "keys": GOOD_KEY, "expected_hosts": HOSTS}
    assert load("internal_iam", settings, "production").settings("internal_iam").keys


def test_secrets_are_masked_when_printed():
    settings = load("internal_iam", default_section()).settings("internal_iam")
    printed = str(masked(settings))
    assert DEVELOPMENT_ACCESS_KEY_ID in printed
    assert DEVELOPMENT_SECRET_ACCESS_KEY not in printed


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({"keys": GOOD_KEY}, "allowed_principals is empty"),
        ({"allowed_principals": ["t"]}, "static mode needs at least one key"),
        ({"allowed_principals": ["t"], "keys": {"AKIA1": {"principal": "t"}}},
         "secret_access_key is empty"),
        ({"allowed_principals": ["t"], "keys": GOOD_KEY, "max_clock_skew_seconds": 3600},
         "max_clock_skew_seconds"),
        ({"mode": "sts", "allowed_principals": ["*"]}, "any AWS account"),
        ({"mode": "sts", "allowed_principals": ["arn:aws:iam::*:user/transcoder"]},
         "any AWS account"),
        ({"mode": "gateway", "allowed_principals": ["arn:*"],
          "gateway": {"shared_secret": "s" * 40}}, "trusted_networks is empty"),
        ({"mode": "gateway", "allowed_principals": ["arn:*"],
          "gateway": {"trusted_networks": ["10.0.0.0/33"], "shared_secret": "s" * 40}},
         "not a CIDR network"),
        ({"mode": "gateway", "allowed_principals": ["arn:*"],
          "gateway": {"trusted_networks": ["10.0.0.0/8"]}}, "shared_secret is empty"),
        ({"mode": "bogus", "allowed_principals": ["t"]}, "mode"),
        ({"allowed_principals": ["t"], "keyz": {}}, "keyz"),
    ],
)
def test_unusable_settings_stop_start_up(settings: dict[str, Any], expected: str):
    assert expected in refused("internal_iam", settings)


def test_a_short_gateway_secret_is_refused_in_production():
    settings = {"mode": "gateway", "allowed_principals": ["arn:*"],
                "gateway": {"trusted_networks": ["10.0.0.0/8"], "shared_secret": "short"}}
    assert load("internal_iam", settings)  # fine for development
    assert "at least 32 characters" in refused("internal_iam", settings, "production")


def test_sts_accepts_account_pinned_patterns():
    settings = {"mode": "sts", "expected_hosts": HOSTS, "allowed_principals": [
        "arn:aws:iam::123456789012:user/transcoder",
        "arn:aws:sts::123456789012:assumed-role/transcoder-task/*"]}
    assert load("internal_iam", settings).settings("internal_iam").mode == "sts"


@pytest.mark.parametrize(
    "settings, environment, expected",
    [
        ({"allowed_principals": ["t"]}, "development", "keys is empty"),
        ({"keys": {"t": "x" * 40}}, "development", "allowed_principals is empty"),
        ({"keys": {"t": "short"}, "allowed_principals": ["t"]}, "production",
         "at least 32 characters"),
        ({"keys": {"t": "x" * 40}, "allowed_principals": ["t"]}, "development",
         "plugins.internal_token.expected_hosts is empty"),
        ({"keys": {"t": "x" * 40}, "allowed_principals": ["t"], "expected_hosts": ["*"]},
         "development", "plugins.internal_token.expected_hosts: '*' is not a host name"),
    ],
)
def test_internal_token_refuses_unusable_settings(settings: dict[str, Any], environment: str,
                                                  expected: str):
    assert expected in refused("internal_token", settings, environment)


def test_internal_token_accepts_its_expected_hosts():
    settings = {"keys": {"t": "x" * 40}, "allowed_principals": ["t"], "expected_hosts": HOSTS}
    assert load("internal_token", settings).settings("internal_token").expected_hosts == HOSTS


STATIC_OK = {"allowed_principals": ["t"], "keys": GOOD_KEY}
STS_OK = {"mode": "sts", "allowed_principals": ["arn:aws:iam::123456789012:user/t"]}


@pytest.mark.parametrize("settings", [STATIC_OK, STS_OK], ids=["static", "sts"])
@pytest.mark.parametrize("hosts", [[], [""], [" , "]], ids=["missing", "blank", "commas"])
def test_signed_modes_need_expected_hosts(settings: dict[str, Any], hosts: list[str]):
    message = refused("internal_iam", {**settings, "expected_hosts": hosts})
    assert "plugins.internal_iam.expected_hosts is empty" in message


@pytest.mark.parametrize("entry", ["*", "*.example.com", "https://api.example.com",
                                   "api.example.com/path", "api.example.com:0",
                                   "api.example.com:70000", "api example.com", "::1"])
def test_an_expected_host_must_be_a_host_name_or_host_and_port(entry: str):
    message = refused("internal_iam", {**STATIC_OK, "expected_hosts": ["api.example.com", entry]})
    assert f"plugins.internal_iam.expected_hosts: {entry.strip()!r} is not a host name" in message


def test_expected_hosts_may_come_comma_separated_from_one_variable():
    config = config_from_dict(
        {"app": {"plugins": ["internal_iam"]},
         "plugins": {"internal_iam": {**STATIC_OK, "expected_hosts": ["env:HOSTS"]}}},
        source="<test>", environ={"HOSTS": "api.example.com, 10.0.0.5:8000,[::1]"},
    )
    settings = prepare(config).settings("internal_iam")
    assert settings.expected_hosts == ["api.example.com, 10.0.0.5:8000,[::1]"]


def test_gateway_mode_needs_no_expected_hosts():
    settings = {"mode": "gateway", "allowed_principals": ["arn:*"],
                "gateway": {"trusted_networks": ["10.0.0.0/8"], "shared_secret": "s" * 40}}
    assert load("internal_iam", settings).settings("internal_iam").mode == "gateway"


def production_section(environ: dict[str, str]) -> Any:
    """production.toml's own [plugins.internal_iam] table, read in a production app."""
    section = tomllib.loads(PRODUCTION_TOML.read_text())["plugins"]["internal_iam"]
    config = config_from_dict(
        {"app": {"plugins": ["internal_iam"], "environment": "production"},
         "plugins": {"internal_iam": section}},
        source=str(PRODUCTION_TOML), environ=environ,
    )
    return prepare(config).settings("internal_iam")


PRINCIPAL = {"ITUBE_SERVICE_PRINCIPAL": "arn:aws:sts::123456789012:assumed-role/transcoder/*"}


def test_production_reads_its_expected_hosts_from_the_environment():
    environ = {**PRINCIPAL, "ITUBE_SERVICE_HOSTS": "api.example.com,api.internal.example.com"}
    settings = production_section(environ)
    assert settings.expected_hosts == ["api.example.com,api.internal.example.com"]


def test_production_refuses_to_start_without_expected_hosts():
    with pytest.raises(ConfigError) as error:
        production_section(PRINCIPAL)
    assert "plugins.internal_iam.expected_hosts is empty" in str(error.value)
