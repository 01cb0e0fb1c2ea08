"""The documents that point at code point at code that exists: every test that
docs/RELIABILITY.md names as the proof of a promise, and every setting the README lists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from snapscale.config import Settings

ROOT = Path(__file__).resolve().parent.parent
TEST_ID = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


def test_every_test_the_reliability_promises_name_exists() -> None:
    cited = TEST_ID.findall((ROOT / "docs" / "RELIABILITY.md").read_text())
    assert len(cited) > 100  # the pattern still finds the citations

    missing = [
        f"{path}::{name}"
        for path, name in sorted(set(cited))
        if not (ROOT / path).is_file() or name not in _test_functions(ROOT / path)
    ]

    assert missing == []


def test_the_readme_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()

    unlisted = [
        f"SNAPSCALE_{name.upper()}"
        for name in Settings.model_fields
        if f"SNAPSCALE_{name.upper()}" not in readme
    ]

    assert unlisted == []
