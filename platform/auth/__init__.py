"""Auth of the reference platform: HS256 JWTs shaped like Supabase's, and password hashing."""
