"""`python -m shrinkcli` runs the `shrink` command."""

from .cli import app

app(prog_name="shrink")
