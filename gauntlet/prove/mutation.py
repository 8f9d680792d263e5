"""Applying a fault: one substitution inside one named function of one file, in a scratch copy of the tree.

The scope is found by the file's kind: a SQL function (`create or replace function
[public.]NAME(` up to the end of its dollar-quoted body; every overload in the file
counts), a Python `def`/`async def`/`class` (a dotted `Class.method` is looked up
inside the class), or a JavaScript `function NAME(` up to its matching brace. The
`old` text must occur exactly once inside the scope: a fault whose code moved is
an error (FaultDoesNotApply), never a silent skip.
"""

from __future__ import annotations

import re
from pathlib import Path

from gauntlet.base.errors import GauntletError
from gauntlet.prove.catalogue import Fault


class FaultDoesNotApply(GauntletError):
    """The code a fault names is not where the catalogue says: update the fault (or the catalogue entry)."""


def apply_fault(tree: Path, fault: Fault) -> None:
    """Rewrite `tree / fault.file` with the fault's substitution; raise FaultDoesNotApply when it cannot land."""
    path = tree / fault.file
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise FaultDoesNotApply(f"fault {fault.name}: {fault.file} does not exist (was it moved?)") from None
    path.write_text(mutated(text, fault))


def mutated(text: str, fault: Fault) -> str:
    """`text` with the fault applied (pure: no file access)."""
    spans = scopes(text, fault.file, fault.scope)
    if not spans:
        raise FaultDoesNotApply(f"fault {fault.name}: no {fault.scope!r} in {fault.file} (was it renamed or moved?)")
    hits = [(start + i) for start, end in spans for i in _find_all(text[start:end], fault.old)]
    if len(hits) != 1:
        raise FaultDoesNotApply(
            f"fault {fault.name}: {fault.old!r} occurs {len(hits)} times in {fault.scope} of {fault.file}, "
            "expected exactly once: make `old` unique (or update it to the code as it is now)"
        )
    at = hits[0]
    return text[:at] + fault.new + text[at + len(fault.old) :]


def scopes(text: str, file: str, scope: str) -> list[tuple[int, int]]:
    """The (start, end) offsets of every definition of `scope` in `text`."""
    if file.endswith(".sql"):
        return _sql_functions(text, scope)
    if file.endswith(".py"):
        return _python_scopes(text, scope)
    if file.endswith(".js"):
        return _js_functions(text, scope)
    raise FaultDoesNotApply(f"{file}: faults go in .sql, .py or .js files (named functions), not this kind of file")


def _find_all(haystack: str, needle: str) -> list[int]:
    found, start = [], haystack.find(needle)
    while start != -1:
        found.append(start)
        start = haystack.find(needle, start + 1)
    return found


def _sql_functions(text: str, name: str) -> list[tuple[int, int]]:
    header = re.compile(rf"create\s+(or\s+replace\s+)?function\s+(public\.)?{re.escape(name)}\s*\(", re.IGNORECASE)
    spans = []
    for match in header.finditer(text):
        tag = re.compile(r"\$[A-Za-z_]*\$").search(text, match.end())
        if tag is None:
            continue
        close = text.find(tag.group(0), tag.end())
        if close != -1:
            spans.append((match.start(), close + len(tag.group(0))))
    return spans


def _python_scopes(text: str, dotted: str) -> list[tuple[int, int]]:
    spans = [(0, len(text))]
    for part in dotted.split("."):
        spans = [inner for start, end in spans for inner in _python_blocks(text, start, end, part)]
    return spans


def _python_blocks(text: str, start: int, end: int, name: str) -> list[tuple[int, int]]:
    header = re.compile(rf"^([ \t]*)(async\s+def|def|class)\s+{re.escape(name)}\b", re.MULTILINE)
    blocks = []
    for match in header.finditer(text, start, end):
        indent = len(match.group(1).expandtabs())
        body_end = end
        offset = text.find("\n", match.end())
        while offset != -1 and offset < end:
            line_start = offset + 1
            line_end = text.find("\n", line_start)
            line = text[line_start : line_end if line_end != -1 else len(text)]
            stripped = line.strip()
            at_depth = stripped and not stripped.startswith("#") and len(line) - len(line.lstrip()) <= indent
            # A decorator or the next statement at the def's own depth ends it (a closing bracket
            # of the signature at that depth does not).
            if at_depth and not stripped.startswith((")", "]", "}")):
                body_end = line_start
                break
            offset = line_end
        blocks.append((match.start(), body_end))
    return blocks


def _js_functions(text: str, name: str) -> list[tuple[int, int]]:
    header = re.compile(rf"(async\s+)?function\s+{re.escape(name)}\s*\(|\b{re.escape(name)}\s*=\s*(async\s+)?\(")
    spans = []
    for match in header.finditer(text):
        brace = text.find("{", match.end())
        depth, at = 0, brace
        while 0 <= at < len(text):
            depth += {"{": 1, "}": -1}.get(text[at], 0)
            if depth == 0:
                spans.append((match.start(), at + 1))
                break
            at += 1
    return spans
