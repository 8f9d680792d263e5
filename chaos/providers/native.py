"""chaostoolkit's own provider types, natively: `http` (a request) and `process` (a local command).

An `http` provider's url may be absolute, or a path on the target's API (`/functions/v1/health`);
`${api_url}` and `${service_key}` in its url, headers and body are the target's, filled in when it
runs. It returns `{status, headers, body}` (body as JSON when it is JSON); an int tolerance judges
the status. A `process` provider returns `{status, stdout, stderr}`; an int tolerance judges the
exit status.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping

import httpx

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.experiment import ActionFn, JsonValue

RUNTIME_NAMES = ("api_url", "service_key")  # filled in from the target when an http activity runs
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
OUTPUT_LIMIT = 64_000  # characters of a process's stdout/stderr kept in the journal


def fill(value: JsonValue, names: Mapping[str, JsonValue]) -> JsonValue:
    """`${name}` in every string of `value` replaced by names[name] (unknown names are left alone).

    A string that is only `${name}` becomes the value itself (a number stays a number), as in chaostoolkit.
    """
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole is not None and whole[1] in names:
            return names[whole[1]]
        return _PLACEHOLDER.sub(lambda m: _text(names[m[1]]) if m[1] in names else m[0], value)
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    return value


def _text(value: JsonValue) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def placeholders(value: JsonValue) -> list[str]:
    """Every `${name}` in the strings of `value`, in order."""
    if isinstance(value, str):
        return _PLACEHOLDER.findall(value)
    if isinstance(value, list):
        return [name for v in value for name in placeholders(v)]
    if isinstance(value, dict):
        return [name for v in value.values() for name in placeholders(v)]
    return []


def http_activity(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, JsonValue] | None = None,
    body: JsonValue = None,
    timeout_s: float = 10.0,
    expected_status: int | None = None,
) -> ActionFn:
    async def call(ctx: DrillContext) -> JsonValue:
        names: dict[str, JsonValue] = {"api_url": ctx.target.api_url, "service_key": ctx.target.service_key}
        target_url = str(fill(url, names))
        sent_headers = {k: str(v) for k, v in (headers or {}).items()}
        sent_headers = {k: str(fill(v, names)) for k, v in sent_headers.items()}
        payload = fill(body, names)
        if target_url.startswith("/"):
            response = await ctx.http().request(
                method, target_url, headers=sent_headers, json=payload, timeout=timeout_s
            )
        else:
            async with httpx.AsyncClient() as client:
                response = await client.request(
                    method, target_url, headers=sent_headers, json=payload, timeout=timeout_s
                )
        if expected_status is not None and response.status_code != expected_status:
            raise RuntimeError(f"{method} {target_url} answered {response.status_code}, expected {expected_status}")
        answer: JsonValue
        try:
            answer = response.json()
        except ValueError:
            answer = response.text[:OUTPUT_LIMIT]
        return {"status": response.status_code, "headers": dict(response.headers), "body": answer}

    return call


def process_activity(path: str, arguments: list[str]) -> ActionFn:
    async def run(ctx: DrillContext) -> JsonValue:
        proc = await asyncio.create_subprocess_exec(
            path,
            *arguments,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, stderr = await proc.communicate()
        except asyncio.CancelledError:  # the activity's timeout: leave no process behind
            proc.kill()
            await proc.wait()
            raise
        return {
            "status": proc.returncode,
            "stdout": stdout.decode(errors="replace")[-OUTPUT_LIMIT:],
            "stderr": stderr.decode(errors="replace")[-OUTPUT_LIMIT:],
        }

    return run
