"""Auth through the GoTrue-compatible surface: sign-up, password grant, refresh, sign-out, tokens and sessions.

Seeds 000 (auth and reserved handles) and DESIGN (a GoTrue-compatible subset issuing JWTs).
"""
