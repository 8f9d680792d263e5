-- Queries of GoTrue's sessions and refresh-token families (platform/auth/sessions.py, migration 800).

-- name: create_session
-- A new session for a user, with its first refresh token (by hash).
-- params: $1 user_id, $2 token_hash
WITH s AS (
    INSERT INTO auth.sessions (user_id) VALUES ($1) RETURNING id, user_id
)
INSERT INTO auth.refresh_tokens (token_hash, session_id, user_id)
SELECT $2, s.id, s.user_id FROM s
RETURNING session_id;

-- name: lock_refresh_token
-- The refresh token with this hash, locked for rotation (NULL when unknown).
-- params: $1 token_hash
SELECT id, session_id, user_id, revoked
FROM auth.refresh_tokens
WHERE token_hash = $1
FOR UPDATE;

-- name: rotate_refresh_token
-- Revoke the used token and issue its child in the same family.
-- params: $1 used token id, $2 new token_hash, $3 parent token_hash
WITH used AS (
    UPDATE auth.refresh_tokens SET revoked = true WHERE id = $1
    RETURNING session_id, user_id
), touched AS (
    UPDATE auth.sessions SET refreshed_at = now() WHERE id = (SELECT session_id FROM used)
)
INSERT INTO auth.refresh_tokens (token_hash, session_id, user_id, parent_hash)
SELECT $2, used.session_id, used.user_id, $3 FROM used
RETURNING session_id;

-- name: delete_session
-- End one session (its refresh tokens go with it); returns its id when it existed.
-- params: $1 session_id
DELETE FROM auth.sessions WHERE id = $1 RETURNING id;

-- name: delete_user_sessions
-- End every session of a user (scope global), or every one but $2 (scope others); returns their ids.
-- params: $1 user_id, $2 session_id to keep or NULL
DELETE FROM auth.sessions WHERE user_id = $1 AND ($2::uuid IS NULL OR id <> $2::uuid) RETURNING id;

-- name: session_exists
-- Whether a session is still live.
-- params: $1 session_id
SELECT EXISTS (SELECT 1 FROM auth.sessions WHERE id = $1);

-- name: update_user
-- Change a user's e-mail, password hash and/or metadata (NULL = unchanged); NULL when the
-- e-mail belongs to someone else.
-- params: $1 user_id, $2 email or NULL, $3 encrypted_password or NULL, $4 raw_user_meta_data jsonb or NULL
UPDATE auth.users
SET email = coalesce($2, email),
    encrypted_password = coalesce($3, encrypted_password),
    raw_user_meta_data = coalesce($4, raw_user_meta_data)
WHERE id = $1
  AND ($2::text IS NULL OR NOT EXISTS (SELECT 1 FROM auth.users o WHERE o.email = $2 AND o.id <> $1))
RETURNING id, email, raw_user_meta_data, created_at, last_sign_in_at;
