"""Who the virtual users are: pre-created fixture accounts, or fresh signups.

A fixtures file is JSON (a list of {"email", "password"}, or {"accounts": [...]})
or CSV with an `email,password` header. Each load generator hands accounts
out round-robin from a random starting point, so workers on several machines
do not all begin with the same person.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gauntlet.base.errors import GauntletError

FRESH_PASSWORD = "gauntlet-Load-pw-1"  # throwaway accounts on a test platform
FRESH_DOMAIN = "load.gauntlet.test"


class AccountsFileError(GauntletError):
    """The accounts file cannot be read or has no usable account."""


@dataclass(frozen=True)
class Account:
    email: str
    password: str


def parse_accounts(text: str, *, source: str) -> tuple[Account, ...]:
    stripped = text.lstrip()
    rows: list[object]
    if stripped.startswith(("[", "{")):
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise AccountsFileError(f"{source}: not valid JSON: {exc}") from exc
        rows = raw.get("accounts", []) if isinstance(raw, dict) else raw
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    accounts = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise AccountsFileError(f"{source}: entry {i} is not an object with email and password")
        email, password = row.get("email"), row.get("password")
        if not isinstance(email, str) or not email or not isinstance(password, str) or not password:
            raise AccountsFileError(f"{source}: entry {i} needs a non-empty email and password")
        accounts.append(Account(email=email, password=password))
    if not accounts:
        raise AccountsFileError(f"{source}: no accounts in the file")
    return tuple(accounts)


def load_accounts(path: Path) -> tuple[Account, ...]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AccountsFileError(f"cannot read accounts file {path}: {exc.strerror or exc}") from exc
    return parse_accounts(text, source=str(path))


def round_robin(accounts: Sequence[Account], *, rng: random.Random) -> Iterator[Account]:
    start = rng.randrange(len(accounts))
    return itertools.islice(itertools.cycle(accounts), start, None)


def fresh_accounts(run_id: str, generator_tag: str) -> Iterator[Account]:
    """Unique throwaway accounts: run, load generator and a counter make the address."""
    for n in itertools.count(1):
        yield Account(email=f"{run_id}-{generator_tag}-{n}@{FRESH_DOMAIN}", password=FRESH_PASSWORD)


def handle_for(email: str) -> str:
    """A short handle derived from the account address: unique when the address is."""
    return "u_" + hashlib.blake2b(email.encode("utf-8"), digest_size=8).hexdigest()
