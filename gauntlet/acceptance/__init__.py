"""The gate's acceptance phase: every rule the seeds state, as a black-box check through the public surface.

`registry` declares checks, `surface` is how a check reaches the platform (HTTP
with a user token or the service key; a direct DSN only where a rule needs one),
`runner` runs them and writes `gauntlet.acceptance/1`, and `checks/` holds one
module per kernel of the seeds (onboarding, feed, queues, ...).
"""
