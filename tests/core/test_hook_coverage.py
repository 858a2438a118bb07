"""Every hookspec, the kernel's and the video plugin's events, has a test that exercises it
and a section in docs/plugins.md.

A test says which hooks it exercises with `@pytest.mark.hooks("startup", ...)`.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from core import hookspecs
from plugins.video import hookspecs as video_hookspecs

HERE = Path(__file__).parent
TESTS = HERE.parent
PLUGINS_GUIDE = TESTS.parent / "docs" / "plugins.md"


def declared_hookspecs(module: object) -> set[str]:
    return {
        name for name, function in inspect.getmembers(module, inspect.isfunction)
        if hasattr(function, "itube_spec")
    }


def kernel_hookspecs() -> set[str]:
    return declared_hookspecs(hookspecs)


def all_hookspecs() -> set[str]:
    """The kernel's hookspecs and the events the video plugin declares."""
    return kernel_hookspecs() | declared_hookspecs(video_hookspecs)


def marked_hooks() -> dict[str, list[str]]:
    """Hook name -> the tests marked as exercising it."""
    marked: dict[str, list[str]] = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == (
                    "pytest.mark.hooks"
                ):
                    for arg in decorator.args:
                        marked.setdefault(ast.literal_eval(arg), []).append(
                            f"{path.relative_to(TESTS)}::{node.name}"
                        )
    return marked


def test_the_kernel_has_the_hooks_the_architecture_asks_for():
    assert kernel_hookspecs() == {
        "register_hookspecs", "register_settings", "config_problems", "register_routes",
        "register_middleware", "register_piccolo_app", "register_commands", "aws_environment",
        "cache_backend", "startup", "shutdown", "user_authenticator", "service_authenticator",
        "readiness_checks", "register_metrics", "event_sinks", "event_broker", "event_schemas",
    }


def test_every_hookspec_has_a_test():
    marked = marked_hooks()
    assert sorted(all_hookspecs() - set(marked)) == []
    assert sorted(set(marked) - all_hookspecs()) == [], "a marker names no hook"


def test_every_hookspec_is_documented_in_the_plugin_guide():
    guide = PLUGINS_GUIDE.read_text()
    missing = [name for name in sorted(all_hookspecs()) if f"### `{name}`" not in guide]
    assert missing == []


def test_every_hookspec_says_what_it_is_for():
    for module in (hookspecs, video_hookspecs):
        for name in declared_hookspecs(module):
            assert len(inspect.getdoc(getattr(module, name)) or "") > 40, name
