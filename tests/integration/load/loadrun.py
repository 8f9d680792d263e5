"""Helpers for the load tests (the runner fixture's result, and the count check against the server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class LoadRun:
    exit_code: int
    output: str
    out_dir: Path

    @property
    def result(self) -> dict[str, Any]:
        path = self.out_dir / "results.json"
        assert path.exists(), f"no results.json (exit {self.exit_code}):\n{self.output}\n{self.locust_log()}"
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def locust_log(self) -> str:
        parts = []
        for name in sorted(self.out_dir.glob("locust*.out")) + sorted(self.out_dir.glob("locust*.log")):
            parts.append(f"--- {name.name}\n" + "\n".join(name.read_text(errors="replace").splitlines()[-30:]))
        return "\n".join(parts)

    def names(self) -> set[str]:
        return set(self.result["requests"])


RunLoad = Callable[..., LoadRun]


def assert_counts_match_server(run: LoadRun, server_counts: dict[str, int], users: int) -> None:
    """Every request Gauntlet recorded, the server saw; the server may also have seen the few
    requests still in flight when Locust stopped its users (at most one per user)."""
    ours = {name: stats["requests"] for name, stats in run.result["requests"].items()}
    assert ours, "no traffic recorded"
    for name, count in ours.items():
        seen = server_counts.get(name, 0)
        assert count <= seen <= count + users, f"{name}: gauntlet {count}, server {seen}"
    extra = set(server_counts) - set(ours)
    assert all(server_counts[n] <= users for n in extra), f"server saw requests gauntlet never recorded: {extra}"
