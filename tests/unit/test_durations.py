"""One duration grammar for every command and file: the same forms, the same error."""

from __future__ import annotations

import pytest

from gauntlet.durations import DurationError, format_duration, parse_duration
from gauntlet.gate.config import GateConfigError, duration_seconds
from gauntlet.journeys.monitor import schedule
from gauntlet.load import shapes

FORMS = [
    ("90", 90),
    ("2.5", 2.5),
    ("30s", 30),
    ("5m", 300),
    ("1h", 3600),
    ("1d", 86400),
    ("1h30m", 5400),
    ("1.5m", 90),
    ("500ms", 0.5),
    (" 10S ", 10),
]
BAD = ["", "s", "abc", "5x", "m5", "10 20", "5 m", "-5s", "1h-", "1e3s", "1h30", "five"]


@pytest.mark.parametrize(("text", "seconds"), FORMS)
def test_every_form_reads_the_same_everywhere(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)
    assert shapes.parse_duration(text) == pytest.approx(seconds)
    assert schedule.parse_duration(text, option="--every") == pytest.approx(seconds)
    assert duration_seconds(text) == pytest.approx(seconds, abs=1)


@pytest.mark.parametrize("text", BAD)
def test_one_error_names_the_value_and_the_accepted_forms(text: str) -> None:
    messages = []
    for parse, error, option in (
        (lambda t: parse_duration(t, option="--duration"), DurationError, "--duration"),
        (shapes.parse_duration, shapes.ShapeError, "--duration"),
        (lambda t: schedule.parse_duration(t, option="--every"), DurationError, "--every"),
        (duration_seconds, GateConfigError, "duration"),
    ):
        with pytest.raises(error) as caught:
            parse(text)
        message = str(caught.value)
        assert message.startswith(f"{option} {text!r}"), message
        assert "90, 30s, 5m, 1h30m, 1d" in message
        messages.append(message.removeprefix(f"{option} {text!r}"))
    assert len(set(messages)) == 1, messages  # the same words everywhere


def test_zero_is_refused_unless_allowed() -> None:
    with pytest.raises(DurationError, match="more than zero"):
        parse_duration("0s", option="--every")
    assert parse_duration("0", allow_zero=True) == 0


@pytest.mark.parametrize("seconds", [0.5, 45, 90, 300, 5400, 86400, 90061])
def test_format_reads_back(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)
