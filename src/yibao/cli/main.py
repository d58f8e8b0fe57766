"""`yibao` commands: database, users, demo data, serving, and registry chores.

Errors print their Chinese and English message and exit with status 1.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from yibao.cli import account, analytics, audit, bank, jobs, policy, registry
from yibao.cli.common import ADMIN, context, err, out, reports_errors
from yibao.domain.masking import mask_id_number, mask_phone

app = typer.Typer(help="yibao 医保个人账户平台", no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema / 数据库", no_args_is_help=True)
users_app = typer.Typer(help="Users and roles / 用户", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data / 演示数据", no_args_is_help=True)
persons_app = typer.Typer(help="Insured persons / 参保人", no_args_is_help=True)
institutions_app = typer.Typer(help="Designated institutions / 定点机构", no_args_is_help=True)
agencies_app = typer.Typer(help="Agency directory / 经办机构", no_args_is_help=True)
cards_app = typer.Typer(help="Cards / 医保卡", no_args_is_help=True)
for sub, name in [(db_app, "db"), (users_app, "users"), (demo_app, "demo"), (persons_app, "persons"),
                  (institutions_app, "institutions"), (agencies_app, "agencies"), (cards_app, "cards"),
                  (account.app, "account"), (jobs.app, "jobs"), (audit.app, "audit"),
                  (policy.app, "policy"), (registry.app, "registry"), (bank.app, "bank"), (analytics.app, "analytics")]:
    app.add_typer(sub, name=name)

@db_app.command("upgrade")
@reports_errors
def db_upgrade() -> None:
    """Create or migrate the database named by YIBAO_DATABASE_URL."""
    from yibao.store.migrate import upgrade

    ctx = context()
    upgrade(ctx.engine)
    out.print(f"database at head: {ctx.engine.url.render_as_string(hide_password=True)}")


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Option("-m", "--message")]) -> None:
    """Write a new migration from the difference between the tables and the database (developers)."""
    from yibao.store.migrate import revision

    revision(context().engine, message)


@users_app.command("add")
@reports_errors
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="person, unit, institution, counter, terminal, collector, reviewer, auditor or admin")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")] = False,
    institution: Annotated[str | None, typer.Option(help="institution code (role institution)")] = None,
    person_id: Annotated[str | None, typer.Option(help="person id (role person)")] = None,
    employer_id: Annotated[str | None, typer.Option(help="employer id (role unit)")] = None,
) -> None:
    """Add a user with a role."""
    from yibao.services.credentials import auth

    if not password_stdin:
        err.print("the password is read from standard input: pass --password-stdin")
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\r\n")
    user = auth.add_user(context(), actor=ADMIN, username=username, password=password, role=role,
                         person_id=person_id, employer_id=employer_id, institution_code=institution)
    out.print(f"user {user.username} ({user.role}) added: {user.id}")


@users_app.command("set-password")
@reports_errors
def users_set_password(
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")] = False,
) -> None:
    """Give a user a new password (a forgotten one, the person identified at the counter); their sessions end."""
    from yibao.services.credentials import auth

    if not password_stdin:
        err.print("the password is read from standard input: pass --password-stdin")
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\r\n")
    ended = auth.set_password(context(), actor=ADMIN, username=username, new_password=password)
    out.print(f"password of {username} set; {ended} session(s) ended")


@demo_app.command("load")
@reports_errors
def demo_load(url: Annotated[str, typer.Option(help="where the pages are served, to print with the logins")] = ""
              ) -> None:
    """Load the demo regions, institutions, units, people, cards, users and their history (idempotent)."""
    from yibao.services import demo

    summary = demo.load(context())
    out.print(demo.describe(summary, base_url=url.rstrip("/")), highlight=False, soft_wrap=True)


@app.command("serve")
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API under /api/v1 and the web pages under /."""
    import uvicorn

    from yibao.api.app import create_app

    ctx = context()
    settings = ctx.settings
    if settings.env == "dev" and not settings.bank_url and not (settings.bank_public_key or
                                                                settings.bank_public_key_file):
        simulator = bank.start_simulator(settings)  # the demo's bank, in this process
        out.print(f"bank simulator on {simulator.url} (dev: no YIBAO_BANK_URL set)")
    out.print(f"yibao on http://{host}:{port}/  ·  API http://{host}:{port}/api/v1  ·  "
              f"OpenAPI http://{host}:{port}/openapi.json  ·  docs http://{host}:{port}/docs")
    uvicorn.run(create_app(ctx), host=host, port=port, log_level="info")


@persons_app.command("add")
@reports_errors
def persons_add(id_number: Annotated[str, typer.Option()], name: Annotated[str, typer.Option()],
                phone: Annotated[str, typer.Option()], region: Annotated[str, typer.Option()]) -> None:
    """Register an insured person."""
    from yibao.services.registry import enrolment

    person = enrolment.register_person(context(), actor=ADMIN, id_number=id_number, name=name, phone=phone,
                                       region=region)
    out.print(person.id)


@persons_app.command("show")
@reports_errors
def persons_show(person_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show a person (ID number and phone masked)."""
    from yibao.services.registry import enrolment

    p = enrolment.get_person(context(), actor=ADMIN, person_id=person_id)
    data = {"person_id": p.id, "id_number": mask_id_number(p.id_number), "name": p.name,
            "phone": mask_phone(p.phone), "region": p.region, "sex": p.sex}
    out.print_json(json.dumps(data, ensure_ascii=False)) if as_json else out.print(data)


@institutions_app.command("add")
@reports_errors
def institutions_add(code: str, name: Annotated[str, typer.Option()], kind: Annotated[str, typer.Option()],
                     region: Annotated[str, typer.Option()],
                     designated: Annotated[bool, typer.Option("--designated/--not-designated")] = True,
                     cross_region: Annotated[bool, typer.Option("--cross-region/--local-only")] = False) -> None:
    """Register an institution."""
    from yibao.services.registry import institutions

    i = institutions.add_institution(context(), actor=ADMIN, code=code, name=name, kind=kind, region=region,
                                     designated=designated, cross_region=cross_region)
    out.print(f"{i.code} {i.name} ({i.kind}, {i.region})")


@agencies_app.command("load")
@reports_errors
def agencies_load(path: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Load the agency directory from a YAML data file (default: the bundled one)."""
    from yibao.services.registry import institutions

    count = institutions.load_agencies(context(), actor=ADMIN, **({"path": path} if path else {}))
    out.print(f"{count} agency entries added or changed")


@agencies_app.command("find")
@reports_errors
def agencies_find(region: str) -> None:
    """Where to go: the agency of a region (or of its prefecture or province)."""
    from yibao.services.registry import institutions

    a = institutions.find_agency(context(), region=region)
    out.print(f"{a.name}\n{a.address}\n☎ {a.phone}  {a.hours}\n{a.website}")


@cards_app.command("issue")
@reports_errors
def cards_issue(person_id: str, expires_on: Annotated[str | None, typer.Option()] = None) -> None:
    """Issue a card to a person."""
    from yibao.services.credentials import cards

    card = cards.issue_card(context(), actor=ADMIN, person_id=person_id,
                            expires_on=dt.date.fromisoformat(expires_on) if expires_on else None)
    out.print(card.card_no)


@cards_app.command("show")
@reports_errors
def cards_show(card_no: str) -> None:
    """Show a card's status."""
    from yibao.services.credentials import cards

    ctx = context()
    card = cards.get_card(ctx, actor=ADMIN, card_no=card_no)
    out.print(f"{card.card_no} {card.status_on(ctx.today()).value} expires {card.expires_on}")


if __name__ == "__main__":  # pragma: no cover
    app()
