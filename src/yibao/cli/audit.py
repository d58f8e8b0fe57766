"""`yibao audit …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Tamper evidence / 审计", no_args_is_help=True)
