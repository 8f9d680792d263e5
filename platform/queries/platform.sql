-- name: vector_type_exists
-- Whether the pgvector type exists yet (migrations may not have run when a pool connects).
-- params: none
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_type WHERE typname = 'vector');
