"""Fixtures of the Supabase wire-compatibility tests: the official `supabase` client against the stack.

Users are created straight in auth.users (signup is limited to 10 a minute per address) with a
known password, then sign in through the client like any Supabase user.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import asyncpg
import pytest
from supabase import Client, create_client

from gauntlet.platform.auth.passwords import hash_password
from gauntlet.stack.state import StackState

PASSWORD = "secret-pass-1"
_HASH = hash_password(PASSWORD)


@dataclass
class SupaUser:
    email: str
    id: str
    client: Client


def _insert_user(dsn: str, email: str) -> str:
    async def run() -> str:
        conn = await asyncpg.connect(dsn)
        try:
            return str(
                await conn.fetchval(
                    "INSERT INTO auth.users (email, encrypted_password) VALUES ($1, $2) RETURNING id", email, _HASH
                )
            )
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture
def anon_client(gauntlet_stack: StackState) -> Client:
    return create_client(gauntlet_stack.api_url, gauntlet_stack.anon_key)


@pytest.fixture
def service_client(gauntlet_stack: StackState) -> Client:
    return create_client(gauntlet_stack.api_url, gauntlet_stack.service_key)


@pytest.fixture
def make_user(gauntlet_stack: StackState) -> Iterator[Callable[[], SupaUser]]:
    """Sign in a fresh user through its own client (an anon client, as a browser has)."""
    made: list[Client] = []

    def make() -> SupaUser:
        email = f"supa-{uuid.uuid4().hex[:12]}@example.test"
        user_id = _insert_user(gauntlet_stack.primary_dsn, email)
        client = create_client(gauntlet_stack.api_url, gauntlet_stack.anon_key)
        client.auth.sign_in_with_password({"email": email, "password": PASSWORD})
        made.append(client)
        return SupaUser(email, user_id, client)

    yield make
