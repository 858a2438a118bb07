"""The guides show real code: the worked example is the plugin the tests load, and every
Python block compiles. (The operator's guide's config reference is checked against the
code in test_config_reference.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tests" / "core" / "example_plugin"
PLUGINS_GUIDE = (REPO / "docs" / "plugins.md").read_text()
OPERATIONS_GUIDE = (REPO / "docs" / "operations.md").read_text()
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@pytest.mark.parametrize(
    "path", sorted(p.relative_to(EXAMPLE).as_posix() for p in EXAMPLE.rglob("*.py")
                   if p.name != "__init__.py" or p.parent == EXAMPLE),
)
def test_the_plugin_guide_shows_the_example_plugin_exactly(path):
    code = (EXAMPLE / path).read_text()
    assert f"```python\n# tests/core/example_plugin/{path}\n{code}```" in PLUGINS_GUIDE


def test_every_python_block_in_the_guides_compiles():
    for guide in (PLUGINS_GUIDE, OPERATIONS_GUIDE):
        for number, block in enumerate(PYTHON_BLOCK.findall(guide)):
            compile(block, f"block {number}", "exec")


SECURITY_GUIDE = (REPO / "docs" / "security.md").read_text()
TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def test_every_test_the_security_guide_names_exists():
    references = TEST_REFERENCE.findall(SECURITY_GUIDE)
    assert len(references) > 20
    missing = [
        f"{path}::{name}" if name else path
        for path, name in references
        if not (REPO / path).is_file()
        or (name and not re.search(rf"def {name}\b", (REPO / path).read_text()))
    ]
    assert missing == []
