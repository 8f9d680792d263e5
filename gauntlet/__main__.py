"""`python -m gauntlet`: the same as the `gauntlet` command."""

from gauntlet.cli import main

main()
