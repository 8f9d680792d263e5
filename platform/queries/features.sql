-- name: user_features
-- One user's feature vector: top interests by affinity, the profile embedding, and 7-day
-- engagement. Engagement comes from the platform's own telemetry: follows are `follow` intent
-- signals, watch time sums `watch` signals' metadata.seconds, CTR is rewarded / all learning
-- impressions. Returns one row even for an unknown user (empty lists, zeros).
-- params: $1 user_id uuid, $2 top-interest limit
SELECT
    coalesce((
        SELECT json_agg(json_build_object('interest_id', t.interest_id, 'slug', t.slug, 'name', t.name,
                                          'domain', t.domain, 'affinity', t.affinity)
                        ORDER BY t.affinity DESC, t.slug)
        FROM (
            SELECT ui.interest_id, ic.slug, ic.name, ic.domain, ui.affinity
            FROM public.user_interests ui
            JOIN public.interest_catalog ic ON ic.id = ui.interest_id
            WHERE ui.user_id = $1
            ORDER BY ui.affinity DESC, ic.slug
            LIMIT $2
        ) t
    ), '[]'::json) AS top_interests,
    (SELECT p.interests_embedding::real[] FROM public.profiles p WHERE p.user_id = $1) AS emb,
    (SELECT count(*) FROM public.intent_signals s WHERE s.user_id = $1 AND s.name = 'follow') AS follows_ct,
    coalesce((
        SELECT sum(CASE WHEN jsonb_typeof(s.metadata -> 'seconds') = 'number'
                        THEN (s.metadata ->> 'seconds')::double precision ELSE 0 END)
        FROM public.intent_signals s
        WHERE s.user_id = $1 AND s.name = 'watch' AND s.ts > now() - interval '7 days'
    ), 0) AS watch_time_7d,
    coalesce((
        SELECT avg(CASE WHEN le.reward > 0 THEN 1.0 ELSE 0.0 END)::double precision
        FROM public.learning_events le
        WHERE le.user_id = $1 AND le.ts > now() - interval '7 days'
    ), 0) AS ctr_7d;
