"""The config reference: generated from the settings classes and their comments, and the
operator's guide holds exactly what the generator prints."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import attrs
import pytest

from core.cli import main
from core.config import secret
from core.config_reference import (
    BEGIN,
    END,
    WRITE_COMMAND,
    UndocumentedKeys,
    block_in,
    builtin_plugin_settings,
    kernel_sections,
    reference,
    render,
    write,
)
from core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "operations.md"
EXAMPLE = "tests.core.example_plugin"


def test_the_operations_guide_holds_the_generated_reference():
    committed = block_in(GUIDE.read_text(encoding="utf-8"))
    assert committed == reference(), (
        f"docs/operations.md's config reference is out of date: run `{WRITE_COMMAND}`"
    )


def test_every_kernel_section_and_builtin_plugin_table_is_in_the_reference():
    text = reference()
    kernel = [name for name, _ in kernel_sections()]
    assert kernel == ["app", "server", "database", "http", "aws", "logging", "metrics",
                      "events"]
    plugins = builtin_plugin_settings()
    assert {"video", "auth_local", "auth_cognito", "cache_redis", "internal_iam"} <= set(plugins)
    headings = [*kernel, *(f"plugins.{name}" for name in plugins)]
    assert [name for name in headings if f"### `[{name}]`\n" not in text] == []
    assert text.index("### `[app]`") < text.index("### `[metrics]`") < text.index(
        "### `[plugins.auth_cognito]`") < text.index("### `[plugins.video]`")


@attrs.define
class Limits:
    """Limits of the demo."""

    # Per client address.
    login: str = "10/minute"


@attrs.define
class Key:
    # The key's secret.
    secret_value: str = secret()


@attrs.define
class Demo:
    # Where it listens;
    # a second line of the same comment.
    host: str = "127.0.0.1"
    # Read in order, "a" or "b" | never "c".
    mode: Literal["a", "b"] = "a"
    # Networks allowed.
    networks: list[str] = attrs.Factory(lambda: ["10.0.0.0/8"])
    # How long, in seconds.
    timeout_seconds: float = 2.5
    # Whether it is on.
    enabled: bool = False
    # The password.
    password: str = secret("")
    # Limits per route.
    limits: Limits = attrs.Factory(Limits)
    # Keys by id.
    keys: dict[str, Key] = attrs.Factory(dict)


def rows(text: str) -> dict[str, list[str]]:
    """Key -> its cells, for every row of every table in `text`."""
    found = {}
    for line in text.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            found[cells[0].strip("`")] = cells[1:]
    return found


def test_each_key_has_its_type_its_toml_default_and_its_comment():
    table = rows(render([("demo", Demo)]))
    assert table["host"] == ["str", '`"127.0.0.1"`',
                             "Where it listens; a second line of the same comment."]
    assert table["mode"] == ["one of 'a', 'b'", '`"a"`', 'Read in order, "a" or "b" \\| never "c".']
    assert table["networks"] == ["list[str]", '`["10.0.0.0/8"]`', "Networks allowed."]
    assert table["timeout_seconds"][:2] == ["float", "`2.5`"]
    assert table["enabled"][:2] == ["bool", "`false`"]
    assert table["password"][:2] == ["str, secret", '`""`']


def test_nested_tables_follow_their_parent_one_level_deeper():
    text = render([("demo", Demo)], level=3)
    assert rows(text)["limits"] == ["table", "", "Limits per route."]
    assert rows(text)["keys"] == ["tables, by name", "`{}`", "Keys by id."]
    assert "#### `[demo.limits]`\n\nLimits of the demo.\n" in text
    assert "#### `[demo.keys.<name>]`" in text
    assert rows(text)["secret_value"][0] == "str, secret"
    assert text.index("### `[demo]`") < text.index("`[demo.limits]`") < text.index(
        "`[demo.keys.<name>]`")


@attrs.define
class Undocumented:
    # Documented.
    first: int = 1
    second: int = 2

    # A comment a blank line away documents nothing.

    third: int = 3


def test_a_field_without_a_comment_right_above_it_is_refused_naming_each():
    with pytest.raises(UndocumentedKeys) as refused:
        render([("demo", Demo), ("bad", Undocumented), ("worse.nested", Undocumented)])
    assert str(refused.value).splitlines()[1:] == [
        f"bad.{key}: no comment above the field in tests/core/test_config_reference.py "
        "(Undocumented)" for key in ("second", "third")
    ] + [
        f"worse.nested.{key}: no comment above the field in "
        "tests/core/test_config_reference.py (Undocumented)" for key in ("second", "third")
    ]


def test_the_command_prints_the_reference(capsys):
    assert main(["config", "reference"]) == 0
    out = capsys.readouterr().out
    assert out == reference() + "\n"
    assert out.startswith(BEGIN) and out.rstrip().endswith(END)


def test_the_command_adds_the_tables_of_the_plugins_a_config_loads(tmp_path, capsys):
    config = tmp_path / "guestbook.toml"
    config.write_text(f'[app]\nplugins = ["{EXAMPLE}"]\n')
    assert main(["config", "reference", "--config", str(config)]) == 0
    table = rows(capsys.readouterr().out.split("### `[plugins.guestbook]`")[1])
    assert table["moderator_key"] == ["str, secret", '`""`', "Lets moderators delete entries "
                                      "with `X-Moderator-Key`; empty turns moderation off."]
    assert "### `[plugins.guestbook]`" not in reference()


def test_the_command_rewrites_the_block_of_a_guide(tmp_path, capsys):
    guide = tmp_path / "guide.md"
    prose = f"# Guide\n\nThe tables sit between `{BEGIN}` and `{END}`.\n\n"
    guide.write_text(f"{prose}{BEGIN}\nold tables\n{END}\n\nAfter.\n")
    assert main(["config", "reference", "--write", str(guide)]) == 0
    assert "config reference rewritten" in capsys.readouterr().err
    assert guide.read_text() == f"{prose}{reference()}\n\nAfter.\n"
    assert main(["config", "reference", "--write", str(guide)]) == 0
    assert "up to date" in capsys.readouterr().err


def test_a_guide_without_the_markers_on_lines_of_their_own_is_refused(tmp_path):
    guide = tmp_path / "guide.md"
    guide.write_text(f"# Guide naming `{BEGIN}` and `{END}`\n")
    with pytest.raises(ConfigError, match=f"{guide}: no block to replace"):
        write(guide, f"{BEGIN}\nnew tables\n{END}")
    assert guide.read_text() == f"# Guide naming `{BEGIN}` and `{END}`\n"
