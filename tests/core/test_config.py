"""Config: structuring, error messages, environment overrides and references."""

from __future__ import annotations

import tomllib
from pathlib import Path

import attrs
import pytest

from core.app import inspect_plugins, prepare
from core.config import Config, config_from_dict, inspect_config, load_config, secret, structure
from core.context import AppContext
from core.errors import ConfigError
from core.plugins import hookimpl

REPO = Path(__file__).resolve().parents[2]


@attrs.define
class ShopSettings:
    # The shop's public name.
    name: str
    # Items per page.
    page_size: int = 20
    # Whether the shop is open.
    open: bool = True
    currencies: list[str] = attrs.Factory(lambda: ["EUR"])
    api_key: str = secret()


class ShopPlugin:
    @hookimpl
    def register_settings(self) -> dict[str, type]:
        return {"shop": ShopSettings}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "itube.toml"
    path.write_text(text)
    return path


def prepare_file(path: Path, environ: dict[str, str] | None = None) -> AppContext:
    return prepare(load_config(path, environ=environ or {}), [ShopPlugin()])


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        call(*args, **kwargs)
    return str(caught.value)


@pytest.mark.hooks("register_settings")
def test_plugin_settings_are_structured_into_the_plugins_class(tmp_path):
    path = write(tmp_path, '[plugins.shop]\nname = "Corner"\npage_size = 5\n')
    ctx = prepare_file(path)
    assert ctx.settings("shop") == ShopSettings(name="Corner", page_size=5)


def test_an_unknown_key_names_the_file_the_key_and_the_known_keys(tmp_path):
    path = write(tmp_path, '[plugins.shop]\nname = "Corner"\npage_sise = 5\n')
    assert error_of(prepare_file, path) == (
        f"{path}: plugins.shop.page_sise: unknown key "
        "(expected one of: name, page_size, open, currencies, api_key)"
    )


def test_a_wrong_type_names_the_file_the_key_and_the_type(tmp_path):
    path = write(tmp_path, '[plugins.shop]\nname = "Corner"\npage_size = "many"\nopen = 3\n')
    assert error_of(prepare_file, path).splitlines() == [
        f"{path}: plugins.shop.page_size: expected int, got 'many'",
        f"{path}: plugins.shop.open: expected bool, got 3",
    ]


def test_a_missing_required_value_names_the_key_and_its_type(tmp_path):
    path = write(tmp_path, "[plugins.shop]\npage_size = 5\n")
    assert error_of(prepare_file, path) == (
        f"{path}: plugins.shop.name: a required value is missing (expected str)"
    )


def test_a_string_is_not_a_list(tmp_path):
    path = write(tmp_path, '[plugins.shop]\nname = "a"\ncurrencies = "EUR"\n')
    assert error_of(prepare_file, path) == (
        f"{path}: plugins.shop.currencies: expected a list, got 'EUR'"
    )


def test_settings_for_a_plugin_that_is_not_loaded_stop_start_up(tmp_path):
    path = write(tmp_path, '[plugins.shop]\nname = "a"\n[plugins.shoop]\nx = 1\n')
    assert "[plugins.shoop]: no loaded plugin reads these settings" in error_of(prepare_file, path)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[databse]\nurl = 'x'\n", "databse: unknown section (expected one of: app, server,"),
        ("[server]\nport = 'eighty'\n", "server.port: expected int, got 'eighty'"),
        ("[app]\nenvironment = 'prod'\n",
         "app.environment: expected one of 'development', 'production', got 'prod'"),
        ("[http]\ncors_origins = ['*']\n", "http.cors_origins: '*' is not allowed"),
        ("[database]\nurl = 'mysql://x'\n", "database.url: expected sqlite:///PATH or"),
        ("[database]\npool_min_size = 5\npool_max_size = 2\n", "database.pool_min_size"),
        ("[logging]\nlevel = 'LOUD'\n", "logging.level: expected one of DEBUG"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_kernel_sections_are_checked(tmp_path, toml, expected):
    path = write(tmp_path, toml)
    message = error_of(load_config, path, environ={})
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_a_missing_file_is_named(tmp_path):
    assert error_of(load_config, tmp_path / "nope.toml", environ={}) == (
        f"{tmp_path / 'nope.toml'}: no such config file"
    )


def test_itube_config_names_the_file(tmp_path):
    path = write(tmp_path, "[server]\nport = 9000\n")
    assert load_config(environ={"ITUBE_CONFIG": str(path)}).server.port == 9000


def test_environment_overrides_every_key_including_plugin_tables(tmp_path):
    path = write(tmp_path, '[server]\nport = 8000\n[plugins.shop]\nname = "Corner"\n')
    environ = {
        "ITUBE__SERVER__PORT": "9001",
        "ITUBE__DATABASE__MIGRATE_ON_START": "true",
        "ITUBE__HTTP__CORS_ORIGINS": '["https://a.example", "https://b.example"]',
        "ITUBE__PLUGINS__SHOP__PAGE_SIZE": "7",
        "ITUBE__PLUGINS__SHOP__NAME": "12",
        "ITUBE__PLUGINS__SHOP__OPEN": "no",
        "UNRELATED": "1",
    }
    ctx = prepare_file(path, environ)
    assert ctx.config.server.port == 9001
    assert ctx.config.database.migrate_on_start is True
    assert ctx.config.http.cors_origins == ["https://a.example", "https://b.example"]
    assert ctx.settings("shop") == ShopSettings(name="12", page_size=7, open=False)
    assert ctx.config.env_overrides["plugins.shop.page_size"] == "ITUBE__PLUGINS__SHOP__PAGE_SIZE"


def test_a_bad_override_names_its_variable(tmp_path):
    path = write(tmp_path, '[plugins.shop]\nname = "Corner"\n')
    message = error_of(prepare_file, path, {"ITUBE__PLUGINS__SHOP__PAGE_SIZE": "lots"})
    assert message == (
        f"{path}: plugins.shop.page_size: expected int, got 'lots' "
        "(set by ITUBE__PLUGINS__SHOP__PAGE_SIZE)"
    )
    assert "ITUBE__SERVER__PORT" in error_of(
        load_config, path, environ={"ITUBE__SERVER__PORT": "x"}
    )
    with_port = write(tmp_path, "[server]\nport = 8000\n")
    assert error_of(load_config, with_port, environ={"ITUBE__SERVER__PORT__X": "1"}) == (
        "ITUBE__SERVER__PORT__X: server.port is a value, not a table"
    )


def test_env_references_read_variables_with_optional_defaults(tmp_path):
    path = write(tmp_path, """
[database]
url = "env:TEST_DB_URL"
[aws]
region = "env:TEST_REGION|eu-west-1"
access_key_id = "env:TEST_KEY|"
[plugins.shop]
name = "env:SHOP_NAME"
currencies = ["env:CURRENCY", "USD"]
""")
    environ = {"TEST_DB_URL": "postgresql://u:pw@db/itube", "SHOP_NAME": "Corner",
               "CURRENCY": "GBP"}
    ctx = prepare_file(path, environ)
    assert ctx.config.database.url == "postgresql://u:pw@db/itube"
    assert ctx.config.aws.region == "eu-west-1"
    assert ctx.config.aws.access_key_id == ""
    assert ctx.settings("shop").name == "Corner"
    assert ctx.settings("shop").currencies == ["GBP", "USD"]
    message = error_of(prepare_file, path, {"SHOP_NAME": "x", "CURRENCY": "GBP"})
    assert message == (
        f"{path}: database.url: environment variable TEST_DB_URL is not set "
        "(set it, or write env:TEST_DB_URL|DEFAULT)"
    )


def test_an_override_may_itself_be_an_env_reference():
    config = config_from_dict({}, environ={"ITUBE__DATABASE__URL": "env:DB", "DB": "sqlite:///x"})
    assert config.database.url == "sqlite:///x"


def test_is_production_follows_app_environment():
    assert not config_from_dict({}, environ={}).is_production
    production = config_from_dict({"app": {"environment": "production"}}, environ={})
    assert production.is_production


def test_the_embedded_default_loads():
    config = load_config(REPO / "config" / "default.toml", environ={})
    assert config.database.url.startswith("sqlite:///")
    assert config.database.migrate_on_start is True
    assert not config.is_production


class EveryVariableSet(dict):
    """An environment where any variable not given reads `set-NAME` (the plugins' own
    tables in production.toml read variables of their own)."""

    def __contains__(self, name: object) -> bool:
        return True

    def __missing__(self, name: str) -> str:
        return f"set-{name}"

    def get(self, name: str, default: object = None) -> object:
        return self[name]


def test_the_production_base_file_reads_the_seed_variables():
    path = REPO / "config" / "production.toml"
    environ = EveryVariableSet(POSTGRES_DATABASE_URL="postgresql://api:pw@db.internal:5432/itube",
                               ITUBE_TRUSTED_PROXIES="10.0.0.0/16",
                               AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    config = load_config(path, environ=environ)
    assert config.is_production
    assert config.database.url == "postgresql://api:pw@db.internal:5432/itube"
    assert config.database.migrate_on_start is False
    assert config.aws.region == "set-REGION_NAME"
    assert config.aws.access_key_id == "set-AWS_ACCESS_KEY_ID"
    assert config.app.plugins[:4] == ["auth_cognito", "internal_iam", "cache_redis", "video"]


def test_production_aws_settings_default_to_boto3s_own_chain():
    environ = {"POSTGRES_DATABASE_URL": "postgresql://api:pw@db.internal:5432/itube",
               "ITUBE_TRUSTED_PROXIES": "10.0.0.0/16"}
    data = tomllib.loads((REPO / "config" / "production.toml").read_text())
    config = config_from_dict({k: v for k, v in data.items() if k != "plugins"}, environ=environ)
    assert config.aws.region == "us-east-1"
    assert (config.aws.access_key_id, config.aws.secret_access_key) == ("", "")
    with pytest.raises(ConfigError, match="POSTGRES_DATABASE_URL is not set"):
        config_from_dict({k: v for k, v in data.items() if k != "plugins"}, environ={})


SEED_ENVIRONMENT = {
    "POSTGRES_DATABASE_URL": "postgresql://api:pw@db.internal:5432/itube",
    "REDIS_HOST": "redis.internal",
    "COGNITO_USER_POOL_ID": "us-east-1_abcdefghi",
    "COGNITO_CLIENT_ID": "client-id",
    "COGNITO_CLIENT_SECRET": "client-secret",
    "S3_RAW_VIDEOS_BUCKET": "raw",
    "S3_PROCESSED_VIDEOS_BUCKET": "processed",
    "S3_VIDEO_THUMBNAILS_BUCKET": "thumbnails",
    "ITUBE_SERVICE_PRINCIPAL": "arn:aws:sts::123456789012:assumed-role/itube-transcoder/*",
    "ITUBE_TRUSTED_PROXIES": "10.0.0.0/16",
    "ITUBE_SERVICE_HOSTS": "api.example.com",
}


def test_the_production_config_loads_its_plugins_with_the_seed_variables():
    """Every plugin of production.toml structures its table and accepts it for production
    (a plugin that starts reading a new variable adds it to SEED_ENVIRONMENT)."""
    ctx = prepare(load_config(REPO / "config" / "production.toml", environ=SEED_ENVIRONMENT))
    assert {"auth_cognito", "cache_redis", "internal_iam", "video"} <= set(ctx.plugin_settings)


def test_config_objects_are_independent():
    first = config_from_dict({"server": {"port": 1}}, environ={})
    second = config_from_dict({}, environ={})
    assert (first.server.port, second.server.port) == (1, 8000)
    assert isinstance(first, Config)


# -- secrets never appear in a config error -------------------------------------------------

SECRET = "s3cr3t-Value-9f2"


@attrs.define
class VaultKey:
    secret_value: str = secret()
    owner: str = ""


@attrs.define
class VaultSettings:
    token: str = secret()
    keys: dict[str, str] = secret(attrs.Factory(dict))
    tokens: list[str] = secret(attrs.Factory(list))
    named: dict[str, VaultKey] = attrs.Factory(dict)
    retries: int = 3


class VaultPlugin:
    @hookimpl
    def register_settings(self) -> dict[str, type]:
        return {"vault": VaultSettings}


def vault_error(environ: dict[str, str], table: dict | None = None) -> str:
    data = {"plugins": {"vault": table}} if table else {}
    config = config_from_dict(data, source="vault.toml", environ=environ)
    return error_of(prepare, config, [VaultPlugin()])


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("ITUBE__PLUGINS__VAULT__TOKEN", f'["{SECRET}"]', "token: expected str, got list"),
        ("ITUBE__PLUGINS__VAULT__TOKEN", f'{{a = "{SECRET}"}}', "token: expected str, got dict"),
        ("ITUBE__PLUGINS__VAULT__KEYS", SECRET, "keys: expected a table, got str"),
        ("ITUBE__PLUGINS__VAULT__KEYS", f'["{SECRET}"]', "keys: expected a table, got list"),
        ("ITUBE__PLUGINS__VAULT__KEYS", f'[{SECRET}', "keys: expected a table, got str"),
        ("ITUBE__PLUGINS__VAULT__KEYS", f'{{svc = ["{SECRET}"]}}',
         "keys[svc]: expected str, got list"),
        ("ITUBE__PLUGINS__VAULT__TOKENS", SECRET, "tokens: expected a list, got str"),
        ("ITUBE__PLUGINS__VAULT__TOKENS", f'[["{SECRET}"]]', "tokens[0]: expected str, got list"),
        ("ITUBE__PLUGINS__VAULT__NAMED", f'{{k = {{secret_value = ["{SECRET}"]}}}}',
         "named[k].secret_value: expected str, got list"),
        # A value where a table holding secrets belongs may be the secret, misplaced.
        ("ITUBE__PLUGINS__VAULT__NAMED", f'{{k = "{SECRET}"}}',
         "named[k]: expected a table, got str"),
    ],
)
def test_a_secret_keys_bad_value_is_never_echoed(variable, value, problem):
    message = vault_error({variable: value})
    assert SECRET not in message
    assert message == (
        f"vault.toml: plugins.vault.{problem} (secret, not shown) (set by {variable})"
    )


def test_an_ordinary_keys_bad_value_is_still_shown():
    message = vault_error({"ITUBE__PLUGINS__VAULT__RETRIES": "lots"})
    assert message == (
        "vault.toml: plugins.vault.retries: expected int, got 'lots' "
        "(set by ITUBE__PLUGINS__VAULT__RETRIES)"
    )
    owner = vault_error({}, {"named": {"k": {"owner": ["ada"]}}})
    assert owner == "vault.toml: plugins.vault.named[k].owner: expected str, got ['ada']"


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"ITUBE__DATABASE__URL": f'["{SECRET}"]'},
         "database.url: expected str, got list (secret, not shown) (set by ITUBE__DATABASE__URL)"),
        ({"ITUBE__AWS__SECRET_ACCESS_KEY": f'{{k = "{SECRET}"}}'},
         "aws.secret_access_key: expected str, got dict (secret, not shown) "
         "(set by ITUBE__AWS__SECRET_ACCESS_KEY)"),
        # Not a URL at all: no telling which part is the password.
        ({"ITUBE__DATABASE__URL": SECRET},
         "database.url: expected sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB, "
         "got '********'"),
        ({"ITUBE__DATABASE__URL": f"mysql://app:{SECRET}@db/itube"},
         "database.url: expected sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB, "
         "got 'mysql://app:********@db/itube'"),
    ],
)
def test_kernel_secrets_are_never_echoed(environ, problem):
    message = error_of(config_from_dict, {}, source="k.toml", environ=environ)
    assert SECRET not in message
    assert message == f"k.toml: {problem}"


class Indiscreet:
    """A plugin whose own check quotes a secret it was given."""

    @hookimpl
    def config_problems(self, config, settings):
        return [f"plugins.vault.token: {settings['vault'].token!r} is too short"]


def test_a_plugins_own_message_has_secrets_masked():
    vault = {"token": SECRET, "keys": {"a": "k-" + SECRET}}
    config = config_from_dict({"plugins": {"vault": vault}}, source="v.toml", environ={})
    message = error_of(prepare, config, [VaultPlugin(), Indiscreet()])
    assert message == "v.toml: plugins.vault.token: '********' is too short"


# -- [server] --------------------------------------------------------------------------------


def test_server_limits_have_defaults_and_are_checked():
    server = config_from_dict({}, environ={}).server
    assert (server.max_header_bytes, server.max_headers, server.graceful_shutdown_seconds) == (
        32_768, 100, 5.0
    )
    message = error_of(config_from_dict, {"server": {
        "max_header_bytes": 100, "max_headers": 0, "graceful_shutdown_seconds": -1,
    }}, source="s.toml", environ={})
    assert message.splitlines() == [
        "s.toml: server.max_header_bytes: expected at least 4096, got 100",
        "s.toml: server.max_headers: expected at least 1, got 0",
        "s.toml: server.graceful_shutdown_seconds: expected 0 or more, got -1.0",
    ]


def test_a_float_key_takes_an_integer():
    config = config_from_dict({"server": {"graceful_shutdown_seconds": 3}}, environ={})
    assert config.server.graceful_shutdown_seconds == 3.0
    assert isinstance(config.server.graceful_shutdown_seconds, float)
    assert error_of(config_from_dict, {"server": {"graceful_shutdown_seconds": True}},
                    source="s.toml", environ={}) == (
        "s.toml: server.graceful_shutdown_seconds: expected float, got True"
    )


# -- several workers and the cache the app actually makes ----------------------------------------


async def start_and_stop(config: Config) -> None:
    from core.app import create_app

    app = create_app(config)
    async with app.router.lifespan_context(app):
        pass


def workers_config(tmp_path: Path, environment: str) -> Config:
    return config_from_dict({
        "app": {"environment": environment},
        "server": {"workers": 2, "freeze_heap_after_startup": False},
        "database": {"url": f"sqlite:///{tmp_path}/itube.db"},
    }, environ={})


def test_start_up_refuses_the_in_process_cache_across_workers_in_production(tmp_path):
    import asyncio

    with pytest.raises(ConfigError, match="server.workers: 2 workers would each keep"):
        asyncio.run(start_and_stop(workers_config(tmp_path, "production")))


def test_start_up_warns_of_the_in_process_cache_across_workers_in_development(tmp_path, caplog):
    import asyncio

    asyncio.run(start_and_stop(workers_config(tmp_path, "development")))
    assert "server.workers: 2 workers would each keep" in caplog.text


def test_code_built_production_configs_are_not_held_to_the_deployment_rules():
    """Tests exercise production behaviour on SQLite; a file is held to every rule."""
    config = config_from_dict({"app": {"environment": "production"}}, environ={})
    assert config.database.url.startswith("sqlite")


@pytest.mark.parametrize("pattern", ["*", "?*", "**"])
def test_a_principal_pattern_of_wildcards_only_is_refused(pattern):
    settings = {"mode": "static", "allowed_principals": ["transcoder", pattern],
                "expected_hosts": ["api.example.com"],
                "keys": {"AKIAPRODTRANSCODER01": {"secret_access_key": "x" * 40,
                                                  "principal": "transcoder"}}}
    config = config_from_dict({"app": {"plugins": ["internal_iam"]},
                               "plugins": {"internal_iam": settings}}, environ={})
    assert error_of(prepare, config) == (
        f"<dict>: plugins.internal_iam.allowed_principals: {pattern!r} admits every caller; "
        "name the services' principals"
    )
    settings["allowed_principals"] = ["transcoder"]  # the control
    assert prepare(config_from_dict({"app": {"plugins": ["internal_iam"]},
                                     "plugins": {"internal_iam": settings}}, environ={}))


def test_the_production_file_names_every_missing_variable_at_once():
    config_path = REPO / "config" / "production.toml"
    config, problems = inspect_config(config_path, environ={})
    _, lines = inspect_plugins(config, problems=problems)
    for variable in ("POSTGRES_DATABASE_URL", "ITUBE_TRUSTED_PROXIES", "REDIS_HOST",
                     "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "COGNITO_CLIENT_SECRET",
                     "S3_RAW_VIDEOS_BUCKET", "S3_PROCESSED_VIDEOS_BUCKET",
                     "S3_VIDEO_THUMBNAILS_BUCKET"):
        assert any(f"environment variable {variable} is not set" in line for line in lines), (
            variable
        )
    # No echo of a missing value: SQLite default, empty proxies and buckets are not repeated.
    assert not any("SQLite" in line or "name the S3 bucket" in line for line in lines)


def test_what_a_wrong_table_says_does_not_depend_on_what_was_read_before():
    """cattrs' own mapping hook must never replace the kernel's: the message for a value
    that is not a table is the same before and after another class with a field of that
    type was read (the order tests and plugins load in is not the config's business)."""

    @attrs.define
    class First:
        table: dict[str, int] = attrs.Factory(dict)

    @attrs.define
    class Second:
        table: dict[str, int] = attrs.Factory(dict)

    def message(cls: type) -> str:
        with pytest.raises(ConfigError) as refused:
            structure({"table": "text"}, cls, source="x.toml")
        return str(refused.value)

    before = message(First)
    assert structure({"table": {"a": 1}}, Second, source="x.toml").table == {"a": 1}
    assert message(Second) == before.replace("First", "Second") == (
        "x.toml: table: expected a table, got 'text'")
