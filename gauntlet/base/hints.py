"""The did-you-mean of every "unknown name" error: the known name closest to a misspelt one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6  # difflib's similarity ratio a name needs to be offered


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known name most like `word` (difflib), else one that `word` starts or is the start of; or None."""
    names = list(known)
    close = difflib.get_close_matches(word, names, n=1, cutoff=CUTOFF)
    if close:
        return close[0]
    return next((name for name in names if word and (name.startswith(word) or word.startswith(name))), None)
