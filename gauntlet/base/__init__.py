"""The basics the platform and the harness share, and nothing else.

`errors` (a problem a person can act on, with its exit code), `files` (atomic writes), `hints`
(the did-you-mean of an unknown name),
`sql` (named queries kept in `.sql` files) and `logfmt` (structured log lines).
This package imports only the standard library and itself: the reference platform
(`gauntlet.platform`) and the fault proxy (`gauntlet.faultproxy`) may depend on it and on
nothing else of Gauntlet (tests/unit/test_import_contracts.py).
"""
