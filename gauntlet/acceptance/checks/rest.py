"""The PostgREST-shaped surface: the RPC allow-list, the table grammar under the caller's RLS, errors and headers.

DESIGN (the platform surface) and seeds 000/003/004 (security).
"""
