"""`gauntlet target check` and `gauntlet target accounts create`: a target file, validated and provisioned.

Exit codes: 0 every check passed; 1 a check failed (a key refused, an account that
cannot sign in, a proxy missing or not in the platform's path); 2 the target file
is wrong or the target is unreachable (the line names the URL and the fix).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from gauntlet.base.errors import EXIT_FAILED, EXIT_OK, GauntletError
from gauntlet.target import Target, TargetFileError, add_accounts_file, resolve_target

REACH_TIMEOUT_S = 10.0
EXERCISE_S = 2.0  # how long the platform is exercised while the proxies' byte counters are watched
MAX_ACCOUNTS = 10_000
ACCOUNT_DOMAIN = "accounts.gauntlet.test"
ACCOUNTS_CHECKED = 3  # sign in as this many accounts (a failed login counts against the address's limit)

out = Console(highlight=False)
target_app = typer.Typer(
    name="target",
    help="Describe a deployment once (gauntlet-target.toml) and check it.\n\n"
    "Example: gauntlet target check --target-file gauntlet-target.toml",
)
accounts_app = typer.Typer(
    name="accounts",
    help="Test accounts on a target, made once through its service key.\n\n"
    "Example: gauntlet target accounts create --count 20 --target-file gauntlet-target.toml",
)
target_app.add_typer(accounts_app, name="accounts")

TargetOpt = Annotated[
    str | None, typer.Option("--target", help="A target file, or a platform URL (the rest from the environment)")
]
TargetFileOpt = Annotated[Path | None, typer.Option("--target-file", help="The target file [env GAUNTLET_TARGET_FILE]")]
# Every gauntlet command takes --state-dir; a target is not a local stack, so these do not use it.
StateDirOpt = Annotated[Path | None, typer.Option("--state-dir", help="Not used: a target is named by its file")]


def register(app: typer.Typer) -> None:
    app.add_typer(target_app, name="target")


@dataclass(frozen=True, slots=True)
class CheckLine:
    name: str
    ok: bool | None  # None: not checked (nothing configured for it)
    detail: str


def _need_target(target: str | None, target_file: Path | None) -> Target:
    described = resolve_target(target, target_file)
    if described is None:
        raise TargetFileError(
            "no target named: pass --target-file FILE (or --target FILE|URL, or set GAUNTLET_TARGET_FILE); "
            "`gauntlet up` writes one for the embedded stack in <state dir>/gauntlet-target.toml"
        )
    return described


@target_app.command("show")
def show(
    target: TargetOpt = None,
    target_file: TargetFileOpt = None,
    show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Include the keys and the DSN")] = False,
    state_dir: StateDirOpt = None,
) -> None:
    """Print the resolved target (file plus environment overrides) as JSON; keys only with --show-secrets.

    Example: gauntlet target show --target-file gauntlet-target.toml
    """
    described = _need_target(target, target_file)
    shown = described.public_json(secrets=show_secrets) | {"source": str(described.source or "")}
    typer.echo(json.dumps(shown, indent=2))


@target_app.command("check")
def check(target: TargetOpt = None, target_file: TargetFileOpt = None, state_dir: StateDirOpt = None) -> None:
    """Reachability, keys accepted, accounts sign in, each mapped proxy exists and carries the platform's traffic.

    Example: gauntlet target check --target-file gauntlet-target.toml
    """
    described = _need_target(target, target_file)
    out.print(f"target {described.label}")
    reach = reachable(described)
    _print(reach)
    if not reach.ok:
        raise GauntletError(f"target {described.api_url} is unreachable: {reach.detail}")
    lines = [*keys_accepted(described), accounts_sign_in(described), *proxies_carry_traffic(described)]
    for line in lines:
        _print(line)
    failed = [line for line in lines if line.ok is False]
    out.print(f"{len(failed)} check(s) failed" if failed else "target ok")
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


def _print(line: CheckLine) -> None:
    mark = {True: "[green]PASS[/]", False: "[red]FAIL[/]", None: "[yellow]SKIP[/]"}[line.ok]
    out.print(f"{mark} {line.name}: {line.detail}", soft_wrap=True)


def _client(target: Target) -> httpx.Client:
    return httpx.Client(base_url=target.api_url, timeout=REACH_TIMEOUT_S)


def reachable(target: Target) -> CheckLine:
    url = f"{target.api_url}/functions/v1/health"
    try:
        response = httpx.get(url, timeout=REACH_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return CheckLine("reachable", False, f"GET {url}: {type(exc).__name__}: {exc}; check api_url")
    status = _json(response).get("status")
    return CheckLine("reachable", True, f"GET {url} answered {response.status_code} (health {status})")


def keys_accepted(target: Target) -> list[CheckLine]:
    lines = []
    with _client(target) as http:
        if target.anon_key:
            response = http.post(
                "/rest/v1/rpc/interest_catalog_browse", json={"p_limit": 1}, headers=_auth(target.anon_key)
            )
            ok = response.status_code == 200
            lines.append(CheckLine("anon key", ok, _answer("an anon RPC (interest_catalog_browse)", response)))
        else:
            lines.append(CheckLine("anon key", None, "not set (anon_key / GAUNTLET_ANON_KEY)"))
        if target.service_key:
            response = http.get("/rest/v1/vw_canary_metrics", headers=_auth(target.service_key))
            ok = response.status_code == 200
            lines.append(CheckLine("service key", ok, _answer("a service-only view (vw_canary_metrics)", response)))
        else:
            lines.append(CheckLine("service key", None, "not set (service_key / GAUNTLET_SERVICE_KEY)"))
    return lines


def accounts_sign_in(target: Target) -> CheckLine:
    if target.accounts_file is None:
        return CheckLine(
            "accounts", None, "no accounts_file: load and drills would sign up users (gauntlet target accounts create)"
        )
    from gauntlet.load.profiles.accounts import AccountsFileError, load_accounts

    try:
        accounts = load_accounts(target.accounts_file)
    except AccountsFileError as exc:
        return CheckLine("accounts", False, str(exc))
    tried = accounts[:ACCOUNTS_CHECKED]
    refused = []
    with _client(target) as http:
        for account in tried:
            if _sign_in(http, target, account.email, account.password) is None:
                refused.append(account.email)
    if refused:
        return CheckLine("accounts", False, f"cannot sign in as {', '.join(refused)} ({target.accounts_file})")
    return CheckLine("accounts", True, f"{len(tried)} of {len(accounts)} accounts signed in ({target.accounts_file})")


def _sign_in(http: httpx.Client, target: Target, email: str, password: str) -> str | None:
    headers = _auth(target.anon_key) if target.anon_key else {}
    response = http.post(
        "/auth/v1/token",
        params={"grant_type": "password"},
        json={"email": email, "password": password},
        headers=headers,
    )
    token = _json(response).get("access_token") if response.status_code == 200 else None
    return str(token) if token else None


def proxies_carry_traffic(
    target: Target, exercise: Callable[[Target, float], int] | None = None, seconds: float = EXERCISE_S
) -> list[CheckLine]:
    """Each mapped proxy exists, and its byte counters move while the platform is exercised through its API."""
    if not target.proxies:
        detail = "no [proxies] map: drills that inject faults will be skipped"
        return [CheckLine("proxies", None, detail if target.toxiproxy_url else "no toxiproxy_url: " + detail)]
    from gauntlet.chaos.evidence import moved, read_proxy_bytes
    from gauntlet.faultproxy.client import ToxiproxyClient

    assert target.toxiproxy_url is not None  # parse_target requires it with a [proxies] map
    try:
        with ToxiproxyClient(target.toxiproxy_url) as client:
            existing = client.proxies()
    except Exception as exc:
        return [CheckLine("toxiproxy", False, f"{target.toxiproxy_url}: {type(exc).__name__}: {exc}")]
    lines = []
    mapped = {role: name for role, name in target.proxies.items()}
    for role, name in mapped.items():
        if name not in existing:
            known = ", ".join(sorted(existing)) or "none"
            lines.append(CheckLine(f"proxy {role}", False, f"no proxy named {name!r} (the Toxiproxy has: {known})"))
    present = {role: name for role, name in mapped.items() if name in existing}
    if not present:
        return lines
    before = read_proxy_bytes(target.toxiproxy_url)
    requests = (exercise or exercise_platform)(target, seconds)
    after = read_proxy_bytes(target.toxiproxy_url)
    for role, name in present.items():
        carried = moved(before, after, name)
        if carried is None:
            lines.append(
                CheckLine(
                    f"proxy {role}",
                    False,
                    f"{name!r} exists, but the Toxiproxy has no byte counters at /metrics "
                    "(start toxiproxy-server with -proxy-metrics) so its traffic cannot be shown",
                )
            )
        else:
            ok = carried > 0
            where = "in the platform's path" if ok else "NOT in the platform's path: the platform does not use it"
            detail = f"{name!r} carried {carried} bytes over {requests} platform requests: {where}"
            lines.append(CheckLine(f"proxy {role}", ok, detail))
    return lines


def exercise_platform(target: Target, seconds: float) -> int:
    """Health checks (they reach the primary, the replicas and Redis) and anon reads for `seconds`."""
    deadline = time.monotonic() + seconds
    sent = 0
    headers = _auth(target.anon_key) if target.anon_key else {}
    with _client(target) as http:
        while time.monotonic() < deadline:
            try:
                http.get("/functions/v1/health")
                http.post("/rest/v1/rpc/interest_catalog_browse", json={"p_limit": 5}, headers=headers)
            except httpx.HTTPError:
                pass
            sent += 2
            time.sleep(0.05)
    return sent


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "apikey": key}


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _answer(what: str, response: httpx.Response) -> str:
    if response.status_code == 200:
        return f"{what} answered 200"
    body = _json(response)
    message = body.get("message") or body.get("msg") or response.text[:120]
    return f"{what} answered {response.status_code}: {message}"


@accounts_app.command("create")
def create_accounts(
    count: Annotated[int, typer.Option("--count", help="How many accounts to make", min=1)] = 20,
    target: TargetOpt = None,
    target_file: TargetFileOpt = None,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="The accounts file to write [default: gauntlet-accounts.json beside the target]"),
    ] = None,
    password: Annotated[str | None, typer.Option(help="One password for all (default: a random one)")] = None,
    state_dir: StateDirOpt = None,
) -> None:
    """Make N confirmed accounts once, through the service key (POST /auth/v1/admin/users), and record them.

    The accounts file (JSON list of email/password, what `gauntlet load --accounts` reads) is written with
    mode 0600, and the target file's `accounts_file` is set to it.

    Example: gauntlet target accounts create --count 20 --target-file gauntlet-target.toml
    """
    if count > MAX_ACCOUNTS:
        raise GauntletError(f"--count {count} is too many: at most {MAX_ACCOUNTS}")
    described = _need_target(target, target_file)
    key = described.require("service_key", "gauntlet target accounts create")
    destination = out_file or ((described.source.parent if described.source else Path.cwd()) / "gauntlet-accounts.json")
    secret = password or f"Gauntlet-{secrets.token_urlsafe(12)}-1"
    batch = secrets.token_hex(3)
    made: list[dict[str, str]] = []
    with _client(described) as http:
        for i in range(1, count + 1):
            email = f"gauntlet-{batch}-{i}@{ACCOUNT_DOMAIN}"
            body = {"email": email, "password": secret, "email_confirm": True, "user_metadata": {"gauntlet": True}}
            try:
                response = http.post("/auth/v1/admin/users", json=body, headers=_auth(key))
            except httpx.HTTPError as exc:
                raise GauntletError(f"creating accounts at {described.api_url} failed: {exc}") from None
            if response.status_code not in (200, 201):
                raise _refused(described, destination, made, response)
            made.append({"email": email, "password": secret})
    _write_accounts(destination, made)
    if described.source is not None:
        add_accounts_file(described.source, destination)
        out.print(f"{len(made)} accounts in {destination}; accounts_file set in {described.source}")
    else:
        out.print(f"{len(made)} accounts in {destination}; set GAUNTLET_ACCOUNTS_FILE={destination}")


def _write_accounts(path: Path, accounts: list[dict[str, str]]) -> None:
    from gauntlet.base.files import write_atomically

    write_atomically(path, json.dumps(accounts, indent=2) + "\n", private=True)


def _refused(target: Target, path: Path, made: list[dict[str, str]], response: httpx.Response) -> GauntletError:
    """The error for a refused account; the accounts made before it are kept in `path`."""
    if response.status_code in (401, 403, 404, 405):
        hint = "this target does not offer GoTrue's admin API to this key: make accounts another way, set accounts_file"
    else:
        hint = "see the message"
    kept = ""
    if made:
        _write_accounts(path, made)
        kept = f"; the {len(made)} made are in {path}"
    return GauntletError(
        f"POST {target.api_url}/auth/v1/admin/users answered {response.status_code} for account {len(made) + 1}: "
        f"{_answer('', response).strip()} ({hint}){kept}"
    )


__all__ = ["check", "create_accounts", "register"]
