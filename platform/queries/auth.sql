-- name: insert_user
-- Create an auth user (the on_auth_user_created trigger makes the profile); NULL if the e-mail is taken.
-- params: $1 email, $2 encrypted_password, $3 raw_user_meta_data jsonb
INSERT INTO auth.users (email, encrypted_password, raw_user_meta_data, last_sign_in_at)
VALUES ($1, $2, $3, now())
ON CONFLICT (email) DO NOTHING
RETURNING id, email, raw_user_meta_data, created_at, last_sign_in_at;

-- name: user_for_login
-- The stored password hash and public fields of one user, by e-mail.
-- params: $1 email
SELECT id, email, encrypted_password, raw_user_meta_data, created_at, last_sign_in_at
FROM auth.users
WHERE email = $1;

-- name: user_by_id
-- Public fields of one user, by id.
-- params: $1 user_id
SELECT id, email, raw_user_meta_data, created_at, last_sign_in_at
FROM auth.users
WHERE id = $1;

-- name: touch_last_sign_in
-- Record a successful password login; with $2, also replace the hash verified at login ($3) by
-- one made with today's parameters (left alone if the password changed in between).
-- params: $1 user_id, $2 new encrypted_password or NULL, $3 the encrypted_password verified
UPDATE auth.users
SET last_sign_in_at = now(),
    encrypted_password = CASE
        WHEN $2::text IS NOT NULL AND encrypted_password = $3::text THEN $2::text
        ELSE encrypted_password
    END
WHERE id = $1
RETURNING last_sign_in_at;
