"""The README's ``## Python API`` block runs as written (in an empty directory)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_api_block(text: str) -> str:
    """The first fenced ``python`` block of the ``## Python API`` section of ``text``."""
    section = re.search(r"^## Python API\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert section, "README.md has no '## Python API' section"
    block = re.search(r"^```python\n(.*?)^```", section.group(1), flags=re.S | re.M)
    assert block, "the '## Python API' section has no ```python block"
    return block.group(1)


def test_python_api_block_runs(tmp_path, monkeypatch):
    code = python_api_block(README.read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme_python_api"}
    exec(compile(code, "README.md[Python API]", "exec"), namespace)
    assert (tmp_path / "out.root").is_file() and (tmp_path / "dm_2b.root").is_file()
    assert namespace["scan"].best_position == pytest.approx(1212.5, abs=30.0)
    assert len(namespace["events"]) == 2000 and len(namespace["flat"]) == 2000
    assert namespace["X"].shape == (len(namespace["mgg"]), 10)
