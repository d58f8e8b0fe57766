"""`yibao account …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Personal accounts and statements / 个人账户", no_args_is_help=True)
