"""`python -m shrinkcli` runs the `shrink` command."""

from .entry import main

main()
