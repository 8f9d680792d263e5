"""The API's caller transaction (platform/api/caller.py) on a real Postgres: role, claims, commit, rollback."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from gauntlet.platform.api.caller import as_caller
from gauntlet.platform.auth.tokens import Claims

pytestmark = pytest.mark.integration


def _caller(email: str) -> Claims:
    return Claims(role="authenticated", sub=str(uuid.uuid4()), email=email, exp=2_000_000_000)


async def test_the_transaction_runs_as_the_caller_with_its_claims_verbatim(conn: asyncpg.Connection) -> None:
    claims = _caller("o'brien\\'; select 1; --\\\\@x.test")  # quotes and backslashes reach SQL unharmed
    async with as_caller(conn, claims, read_only=True):
        role, seen, uid = await conn.fetchrow(
            "select current_user, current_setting('request.jwt.claims'), auth.uid()::text"
        )
    assert role == "authenticated"
    assert json.loads(seen) == claims.as_jwt_claims()
    assert uid == claims.sub
    # Transaction-local: the connection is itself again afterwards, outside any transaction.
    assert await conn.fetchval("select current_user") != "authenticated"
    assert not conn.is_in_transaction()


async def test_a_block_that_raises_rolls_back_and_one_that_ends_commits(conn: asyncpg.Connection) -> None:
    table = f"caller_probe_{uuid.uuid4().hex[:8]}"
    await conn.execute(f"create table public.{table} (v text); grant insert, select on public.{table} to anon")
    try:
        anon = Claims(role="anon")
        with pytest.raises(RuntimeError, match="boom"):
            async with as_caller(conn, anon, read_only=False):
                await conn.execute(f"insert into public.{table} values ('rolled back')")
                raise RuntimeError("boom")
        assert not conn.is_in_transaction()
        async with as_caller(conn, anon, read_only=False):
            await conn.execute(f"insert into public.{table} values ('kept')")
        assert await conn.fetch(f"select v from public.{table}") == [("kept",)]
        # A read-only caller transaction refuses a write, and is rolled back cleanly.
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            async with as_caller(conn, anon, read_only=True):
                await conn.execute(f"insert into public.{table} values ('refused')")
        assert not conn.is_in_transaction()
        assert await conn.fetchval(f"select count(*) from public.{table}") == 1
    finally:
        await conn.execute(f"drop table public.{table}")


async def test_inside_another_transaction_it_refuses_rather_than_commit_that_one(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        with pytest.raises(RuntimeError, match="outside any transaction"):
            async with as_caller(conn, Claims(role="anon"), read_only=True):
                pass
