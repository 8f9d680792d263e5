-- Queries of the live notifications stream (platform/api/routes/realtime.py).

-- name: unread_count
-- The caller's unread notifications (request.jwt.claims is set; RLS applies).
-- params: none
SELECT public.notif_unread_count();
