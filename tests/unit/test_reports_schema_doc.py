"""reports/SCHEMA.md documents every key the model writes, and its example is a valid result."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import gauntlet.reports.model as model
from gauntlet.reports.example import example_run
from gauntlet.reports.resultfile import ensure_result_is_valid

SCHEMA_MD = Path(model.__file__).with_name("SCHEMA.md")


def keys_of(value: Any, prefix: str = "") -> set[str]:
    """Every object key in a JSON document, with the request-name keys of `requests` left out."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if prefix.endswith("requests"):
                found |= keys_of(item)
                continue
            found.add(key)
            found |= keys_of(item, key)
    elif isinstance(value, list):
        for item in value:
            found |= keys_of(item, prefix)
    return found


@pytest.mark.parametrize("failing", [False, True])
def test_every_key_written_is_documented(failing: bool) -> None:
    text = SCHEMA_MD.read_text()
    documented = set(re.findall(r"`([a-z_0-9.]+)`", text))
    documented |= {part for name in documented for part in name.split(".")}
    missing = keys_of(example_run(failing=failing).to_json()) - documented
    assert not missing, f"SCHEMA.md does not document: {sorted(missing)}"


def test_the_example_in_the_doc_is_a_valid_result() -> None:
    text = SCHEMA_MD.read_text()
    example = json.loads(text.split("```json", 1)[1].split("```", 1)[0])
    for entry in example["sections"]["load"]:  # the doc cuts histograms short: drop them to validate
        for stats in [entry["overall"], *entry["requests"].values()]:
            stats["hdr"] = None
    run = ensure_result_is_valid(example, source="SCHEMA.md")
    assert run.verdict == "failed" and example["schema"] == model.SCHEMA
