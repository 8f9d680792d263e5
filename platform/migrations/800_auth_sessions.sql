-- 800_auth_sessions: GoTrue's sessions and refresh-token families.
--
-- Owned by the auth surface (platform/api/routes/auth.py, 8xx).
--
-- Tables (schema auth; the API reads and writes them as the database owner, clients never do)
--   auth.sessions(id, user_id, created_at, refreshed_at)
--       One sign-in (password grant or signup). Access tokens carry its id as the
--       `session_id` claim; GET/PUT /auth/v1/user refuse a token whose session is gone.
--   auth.refresh_tokens(id, token_hash, session_id, user_id, parent_hash, revoked, created_at)
--       The session's refresh tokens, one family per session: each refresh grant
--       revokes the token it used and issues a child. A token that is used again
--       after it was rotated (a stolen copy, or a replay) revokes the whole family:
--       the session is deleted, so neither the thief nor the owner can refresh again.
--       Only SHA-256 hashes of the opaque tokens are stored.
--
-- Logout (POST /auth/v1/logout?scope=global|local|others) deletes sessions
-- (cascading to their refresh tokens): all of the user's, the caller's, or all but
-- the caller's.

create table if not exists auth.sessions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users (id) on delete cascade,
    created_at timestamptz not null default now(),
    refreshed_at timestamptz
);
create index if not exists idx_auth_sessions_user on auth.sessions (user_id);

create table if not exists auth.refresh_tokens (
    id bigint generated always as identity primary key,
    token_hash text not null unique,
    session_id uuid not null references auth.sessions (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    parent_hash text,
    revoked boolean not null default false,
    created_at timestamptz not null default now()
);
create index if not exists idx_auth_refresh_tokens_session on auth.refresh_tokens (session_id);

grant select, insert, update, delete on auth.sessions, auth.refresh_tokens to service_role;
