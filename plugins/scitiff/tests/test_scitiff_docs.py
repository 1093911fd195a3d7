"""The user-guide page stays true: its worked example runs and its JSON schema is current."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from scitiff_readers_scitiff.schema import metadata_schema

PAGE = Path(__file__).resolve().parents[3] / "docs" / "formats" / "scitiff.md"
pytestmark = pytest.mark.skipif(not PAGE.is_file(), reason=f"{PAGE} not found (not a source checkout)")


def _blocks(lang: str, text: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.DOTALL)


def test_schema_in_docs_is_current() -> None:
    (block,) = _blocks("json", PAGE.read_text(encoding="utf-8"))
    assert json.loads(block) == json.loads(json.dumps(metadata_schema()))


def test_worked_example_runs(tmp_path: Path) -> None:
    pytest.importorskip("scitiff")
    text = PAGE.read_text(encoding="utf-8")
    example = text.split("## Worked example", 1)[1].split("\n## ", 1)[0]
    code = "\n".join(_blocks("python", example))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        namespace: dict[str, object] = {}
        exec(compile(code, str(PAGE), "exec"), namespace)
    finally:
        os.chdir(cwd)
    frame = namespace["frame"]
    assert float(frame["T"]) == pytest.approx(1517.5455668839604)
    assert namespace["window"].sizes["T"] == 5
    assert namespace["spectrum"].sizes["T"] == 8
    namespace["r"].close()
