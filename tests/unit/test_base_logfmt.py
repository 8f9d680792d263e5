"""Structured worker logs: extras become logfmt fields, values with spaces are quoted."""

from __future__ import annotations

import logging

from gauntlet.base.logfmt import LogfmtFormatter


def test_extras_become_fields() -> None:
    record = logging.LogRecord("gauntlet.worker", logging.WARNING, __file__, 1, "item failed; will retry", (), None)
    record.action, record.item_id, record.attempt, record.error = "fail", 42, 3, 'boom "x"'
    line = LogfmtFormatter().format(record)
    assert "level=warning" in line and 'msg="item failed; will retry"' in line
    assert "action=fail item_id=42 attempt=3" in line and 'error="boom \\"x\\""' in line
