"""The stack supervisor: brings the whole platform up on one machine (`gauntlet up`)."""
