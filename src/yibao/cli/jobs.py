"""`yibao jobs …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Batch jobs / 批处理", no_args_is_help=True)
