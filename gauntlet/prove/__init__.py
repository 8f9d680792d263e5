"""`gauntlet prove`: mutation testing for the gate.

A catalogue of seeded faults (`faults/*.toml`), each one protection of the
reference platform removed by a small named substitution; each is applied to a
scratch copy of the project (never the user's tree), the gate runs against a
fresh stack started from that copy, and the report says which faults the gate
caught, by which check, and which it missed.
"""
