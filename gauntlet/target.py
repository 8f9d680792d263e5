"""One description of a target: the deployment every command runs against, read once.

A target is the platform's API URL plus what the commands need to do more than
call it: the web URL (pages may live on another origin), the anon and service
keys, a direct database DSN, an accounts file, a Toxiproxy URL and the names of
the proxies in front of the platform's dependencies, by role:

```toml
# gauntlet-target.toml
api_url = "https://staging.example.com"
web_url = "https://app.staging.example.com"     # default: api_url
anon_key = "eyJ..."
service_key = "eyJ..."
dsn = "postgresql://gauntlet@db.staging:5432/postgres"   # optional
accounts_file = "accounts.json"                  # relative to this file
toxiproxy_url = "http://toxiproxy.staging:8474"  # optional
allow_signups = false    # true: load may sign up new users here (the onboarding profile)

[proxies]            # role -> the proxy's name in that Toxiproxy
primary_db = "pg_primary"
replica_db = "pg_replica_1"
redis = "redis"
api = "api"
```

Environment variables override the file (`GAUNTLET_API_URL`, `GAUNTLET_WEB_URL`,
`GAUNTLET_ANON_KEY`, `GAUNTLET_SERVICE_KEY`, `GAUNTLET_DSN`,
`GAUNTLET_ACCOUNTS_FILE`, `TOXIPROXY_URL`, `GAUNTLET_ALLOW_SIGNUPS` = 1/0); the file comes from `--target FILE`,
`--target-file FILE` or `GAUNTLET_TARGET_FILE`. `--target URL` is a target with
only its API URL (the rest from the environment).

Parsing and validation are pure (`parse_target`); `load_target_file` and
`resolve_target` only add reading the file and the environment. A bad file is a
`TargetFileError` (exit 2) naming the key and the fix, never a traceback.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from gauntlet.base.errors import GauntletError

if TYPE_CHECKING:
    from gauntlet.stack.state import StackState

TARGET_FILE_NAME = "gauntlet-target.toml"
TARGET_FILE_ENV = "GAUNTLET_TARGET_FILE"
Role = Literal["primary_db", "replica_db", "redis", "api"]
ROLES: tuple[Role, ...] = ("primary_db", "replica_db", "redis", "api")
# The embedded stack's proxies (what `gauntlet up` creates): the default map of its target file.
EMBEDDED_PROXIES: dict[str, str] = {"primary_db": "pg_primary", "replica_db": "pg_replica_1", "redis": "redis"}

# key -> (environment variable, what it is)
KEYS: dict[str, tuple[str, str]] = {
    "api_url": ("GAUNTLET_API_URL", "the platform's API base URL, e.g. https://staging.example.com"),
    "web_url": ("GAUNTLET_WEB_URL", "where the web pages are served (default: api_url)"),
    "anon_key": ("GAUNTLET_ANON_KEY", "the anon (public) API key"),
    "service_key": ("GAUNTLET_SERVICE_KEY", "the service_role key"),
    "dsn": ("GAUNTLET_DSN", "a direct Postgres DSN of the primary (optional)"),
    "accounts_file": ("GAUNTLET_ACCOUNTS_FILE", "a JSON or CSV file of email,password accounts"),
    "toxiproxy_url": ("TOXIPROXY_URL", "the Toxiproxy HTTP API in front of the platform's dependencies"),
}
URL_KEYS = ("api_url", "web_url", "toxiproxy_url")
# A switch: whether load may sign up new users on this deployment (load/signups.py); default no.
ALLOW_SIGNUPS = "allow_signups"
ALLOW_SIGNUPS_ENV = "GAUNTLET_ALLOW_SIGNUPS"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class TargetFileError(GauntletError):
    """A target file (or its environment overrides) is wrong; the message names the key and the fix."""


@dataclass(frozen=True, slots=True)
class Target:
    api_url: str
    web_url: str = ""
    anon_key: str | None = None
    service_key: str | None = None
    dsn: str | None = None
    accounts_file: Path | None = None
    toxiproxy_url: str | None = None
    proxies: Mapping[str, str] = field(default_factory=dict)
    allow_signups: bool = False  # load may sign up new users here (OnboardingUser)
    source: Path | None = None  # the file it came from (None: a bare --target URL)

    @property
    def label(self) -> str:
        return f"{self.api_url} (from {self.source})" if self.source else self.api_url

    @property
    def pages_url(self) -> str:
        return self.web_url or self.api_url

    def proxy(self, role: Role) -> str | None:
        return self.proxies.get(role)

    def as_arg(self) -> str:
        """What to pass as `--target` to another gauntlet command: the file when there is one."""
        return str(self.source) if self.source is not None else self.api_url

    def require(self, key: str, command: str) -> str:
        """The value of `key`, or exit 2 naming how to give it."""
        value = getattr(self, key)
        if not value:
            env, what = KEYS[key]
            raise TargetFileError(
                f"{command} against {self.label} needs {what}: set `{key}` in the target file, "
                f"pass --{key.replace('_', '-')} or set {env}"
            )
        return str(value)

    def public_json(self, *, secrets: bool = False) -> dict[str, Any]:
        """The target as JSON; keys and the DSN only when `secrets` (else whether they are set)."""
        shown: dict[str, Any] = {
            "api_url": self.api_url,
            "web_url": self.pages_url,
            "accounts_file": str(self.accounts_file) if self.accounts_file else None,
            "toxiproxy_url": self.toxiproxy_url,
            "proxies": dict(self.proxies),
            ALLOW_SIGNUPS: self.allow_signups,
        }
        for key in ("anon_key", "service_key", "dsn"):
            value = getattr(self, key)
            shown[key] = value if secrets else ("set" if value else None)
        return shown


def _check_url(key: str, value: str, where: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise TargetFileError(
            f'{where}: `{key}` = {value!r} is not an http(s) URL; write e.g. {key} = "http://127.0.0.1:8000"'
        )
    return value.rstrip("/")


def parse_target(
    raw: Mapping[str, Any], *, where: str, base_dir: Path | None = None, env: Mapping[str, str] | None = None
) -> Target:
    """Validate a parsed target file (`raw`) with environment overrides (`env`); pure."""
    known = (*KEYS, ALLOW_SIGNUPS, "proxies")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise TargetFileError(f"{where}: unknown key `{key}`; the keys are {', '.join(known)}")
        if key in ("proxies", ALLOW_SIGNUPS):
            continue
        if not isinstance(value, str):
            raise TargetFileError(f"{where}: `{key}` must be a string (in quotes), got {type(value).__name__}")
        values[key] = value.strip()
    for key, (variable, _) in KEYS.items():
        if env and env.get(variable, "").strip():
            values[key] = env[variable].strip()
            where_key = f"{where} (with ${variable})"
            if key in URL_KEYS:
                _check_url(key, values[key], where_key)
    if not values.get("api_url"):
        raise TargetFileError(
            f'{where}: `api_url` is missing; add api_url = "https://your-platform.example" (or set GAUNTLET_API_URL)'
        )
    for key in URL_KEYS:
        if values.get(key):
            values[key] = _check_url(key, values[key], where)
    proxies = _proxies(raw.get("proxies", {}), where)
    if proxies and not values.get("toxiproxy_url"):
        raise TargetFileError(
            f"{where}: [proxies] names proxies but `toxiproxy_url` is missing; "
            'add toxiproxy_url = "http://HOST:8474" (or set TOXIPROXY_URL)'
        )
    accounts = values.get("accounts_file")
    accounts_path = None
    if accounts:
        accounts_path = Path(accounts).expanduser()
        if not accounts_path.is_absolute() and base_dir is not None:
            accounts_path = base_dir / accounts_path
    return Target(
        allow_signups=_allow_signups(raw.get(ALLOW_SIGNUPS, False), where, env or {}),
        api_url=values["api_url"],
        web_url=values.get("web_url", ""),
        anon_key=values.get("anon_key") or None,
        service_key=values.get("service_key") or None,
        dsn=values.get("dsn") or None,
        accounts_file=accounts_path,
        toxiproxy_url=values.get("toxiproxy_url") or None,
        proxies=proxies,
    )


def _allow_signups(raw: object, where: str, env: Mapping[str, str]) -> bool:
    """`allow_signups` (a TOML boolean), overridden by $GAUNTLET_ALLOW_SIGNUPS (1/0, true/false, yes/no)."""
    override = env.get(ALLOW_SIGNUPS_ENV, "").strip().lower()
    if override:
        if override not in (*_TRUE, *_FALSE):
            raise TargetFileError(
                f"${ALLOW_SIGNUPS_ENV} = {override!r} is not a switch; set it to 1 (load may sign up users) or 0"
            )
        return override in _TRUE
    if not isinstance(raw, bool):
        raise TargetFileError(
            f"{where}: `{ALLOW_SIGNUPS}` must be true or false (no quotes), got {raw!r}; "
            f"write {ALLOW_SIGNUPS} = true to let load sign up new users on this deployment"
        )
    return raw


def _proxies(raw: object, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise TargetFileError(f'{where}: `proxies` must be a table: [proxies] then primary_db = "NAME" lines')
    found: dict[str, str] = {}
    for role, name in raw.items():
        if role not in ROLES:
            raise TargetFileError(f"{where}: unknown role `proxies.{role}`; the roles are {', '.join(ROLES)}")
        if not isinstance(name, str) or not name.strip():
            raise TargetFileError(f'{where}: `proxies.{role}` must be the proxy\'s name in quotes, e.g. "pg_primary"')
        found[role] = name.strip()
    return found


def load_target_file(path: Path, env: Mapping[str, str] | None = None) -> Target:
    """Read and validate a target file (environment overrides from `env`, default os.environ)."""
    env = os.environ if env is None else env
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TargetFileError(
            f"target file {path} does not exist; write one (see README: Testing your own deployment) "
            "or run `gauntlet up`, which writes <state dir>/gauntlet-target.toml"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetFileError(f"cannot read target file {path}: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TargetFileError(f'{where} is not valid TOML ({exc}); write key = "value" lines') from None
    return replace(parse_target(raw, where=where, base_dir=path.parent.resolve(), env=env), source=path.resolve())


def looks_like_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def resolve_target(
    target: str | None, target_file: Path | None = None, env: Mapping[str, str] | None = None
) -> Target | None:
    """The target a command was given: `--target URL|FILE`, `--target-file`, or $GAUNTLET_TARGET_FILE.

    None: no target was named (the command uses the embedded stack).
    """
    env = os.environ if env is None else env
    if target and target_file:
        raise TargetFileError("give --target or --target-file, not both")
    if target:
        if looks_like_url(target):
            return parse_target({"api_url": target}, where=f"--target {target}", env=_without_url(env))
        path = Path(target).expanduser()
        if path.exists() or path.suffix == ".toml":
            return load_target_file(path, env)
        raise TargetFileError(
            f"--target {target!r} is not an http(s) URL (nor an existing target file); "
            "write e.g. --target http://127.0.0.1:8000 or --target gauntlet-target.toml"
        )
    if target_file is not None:
        return load_target_file(target_file.expanduser(), env)
    from_env = env.get(TARGET_FILE_ENV, "").strip()
    if from_env:
        return load_target_file(Path(from_env).expanduser(), env)
    return None


def _without_url(env: Mapping[str, str]) -> dict[str, str]:
    """An explicit --target URL wins over GAUNTLET_API_URL."""
    return {k: v for k, v in env.items() if k != "GAUNTLET_API_URL"}


# -- the embedded stack's target file --------------------------------------------------------------


def render_target_file(target: Target, *, comment: str = "") -> str:
    """TOML text for `target` (what `gauntlet up` writes)."""
    lines = [f"# {line}" for line in comment.splitlines()]
    for key in KEYS:
        value = getattr(target, key)
        if value:
            lines.append(f"{key} = {_toml_string(str(value))}")
    if target.allow_signups:
        lines.append(f"{ALLOW_SIGNUPS} = true  # load may sign up new users here (the onboarding profile)")
    if target.proxies:
        lines += ["", "[proxies]"]
        lines += [f"{role} = {_toml_string(name)}" for role, name in target.proxies.items()]
    return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def stack_target(api_url: str, anon_key: str, service_key: str, dsn: str, toxiproxy_url: str) -> Target:
    return Target(
        api_url=api_url.rstrip("/"),
        anon_key=anon_key or None,
        service_key=service_key or None,
        dsn=dsn or None,
        toxiproxy_url=toxiproxy_url or None,
        proxies=dict(EMBEDDED_PROXIES) if toxiproxy_url else {},
        allow_signups=True,  # our own stack: load may sign up users on it
    )


def write_stack_target_file(state_dir: Path, target: Target) -> Path:
    """`<state dir>/gauntlet-target.toml`, mode 0600 (it holds the keys)."""
    from gauntlet.base.files import write_atomically

    path = state_dir / TARGET_FILE_NAME
    comment = (
        "The embedded stack as a target (written by `gauntlet up`; holds its keys, mode 0600).\n"
        "Use it from anywhere: gauntlet gate --target " + str(path)
    )
    write_atomically(path, render_target_file(target, comment=comment), private=True)
    return path


def add_accounts_file(path: Path, accounts: Path) -> None:
    """Set `accounts_file` in an existing target file (top level, before any table)."""
    from gauntlet.base.files import write_atomically

    text = path.read_text(encoding="utf-8")
    line = f"accounts_file = {_toml_string(str(accounts))}\n"
    kept = [raw for raw in text.splitlines(keepends=True) if not raw.lstrip().startswith("accounts_file")]
    at = next((i for i, raw in enumerate(kept) if raw.lstrip().startswith("[")), len(kept))
    kept.insert(at, line)
    write_atomically(path, "".join(kept), private=(path.stat().st_mode & 0o077) == 0)


def write_for_stack(state: StackState) -> Path:
    """Write the target file of a running embedded stack (called by `gauntlet up` and the gate)."""
    dsn = str(state.direct.get("primary_dsn") or state.primary_dsn)
    target = stack_target(state.api_url, state.anon_key, state.service_key, dsn, state.toxiproxy_url)
    return write_stack_target_file(Path(state.state_dir), target)
