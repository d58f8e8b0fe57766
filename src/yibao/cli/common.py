"""What every command shares: the consoles, the service context, and two-language error reporting."""

from __future__ import annotations

import functools

import typer
from rich.console import Console

from yibao.domain import errors
from yibao.domain.users import Actor

out = Console()
err = Console(stderr=True)
ADMIN = Actor.system("cli")


def context():
    from yibao.bootstrap import bootstrap

    return bootstrap()


def reports_errors(fn):
    """Domain errors become a two-language message and exit status 1."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except errors.DomainError as exc:
            err.print(f"[red]错误[/red] {exc.zh}\n[red]error[/red] {exc.en} [dim]({exc.code})[/dim]", highlight=False)
            raise typer.Exit(1) from None
    return wrapper
