"""Pages anyone may open: the home page, sign-in and sign-out, the language switch and online registration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request

from yibao.domain import errors
from yibao.domain.regions import region_name
from yibao.domain.users import PASSWORD_MIN_LENGTH
from yibao.services.credentials import auth
from yibao.services.registry import enrolment
from yibao.web import csrf, i18n, render, session

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])


@router.get("/")
def home(request: Request):
    return render.page(request, "home.html", env=request.app.state.ctx.settings.env)


@router.get("/login")
def login_form(request: Request, next: str = "/"):
    return render.page(request, "login.html", next=session.same_site_path(next), username="", error=None)


@router.post("/login")
def login(request: Request, username: Annotated[str, Form(max_length=200)] = "",
          password: Annotated[str, Form(max_length=200)] = "", next: Annotated[str, Form(max_length=500)] = "/"):
    address = request.client.host if request.client else None
    try:
        token = auth.login(request.app.state.ctx, username=username, password=password, address=address)
    except (errors.BadCredentials, errors.TooManyAttempts) as exc:
        return render.page(request, "login.html", status_code=exc.status, next=session.same_site_path(next),
                           username=username[:64], error=exc)
    actor = auth.authenticate(request.app.state.ctx, token)
    target = session.same_site_path(next, default="/")
    response = session.redirect(request, session.home_of(actor) if target == "/" else target)
    session.sign_in(request, response, token)
    return response


@router.get("/logout")
@router.post("/logout")
def logout(request: Request):
    _ = render.gettext(request)
    response = session.redirect(request, "/", flash=("info", _("You are signed out.")))
    session.sign_out(request, response)
    return response


@router.get("/lang")
def switch_language(request: Request, to: str = i18n.DEFAULT, next: str = "/"):
    chosen = i18n.choose(to, None, None)
    response = session.redirect(request, next)
    session.set_cookie(request, response, i18n.COOKIE, chosen, max_age=365 * 24 * 3600)
    return response


REGISTER_FIELDS = ("id_number", "name", "phone", "region", "username", "password")


@router.get("/register")
def register_form(request: Request):
    return _register_page(request, values={}, field_errors={}, error=None)


def _register_page(request: Request, status_code: int = 200, **values):
    return render.page(request, "register.html", status_code=status_code, regions=regions(request),
                       min_length=PASSWORD_MIN_LENGTH, **values)


def regions(request: Request) -> list[tuple[str, str]]:
    """The regions whose policy this agency keeps, as (code, name) for a choice."""
    policy_set = request.app.state.ctx.policy.policy_set
    return [(code, region_name(code)) for code in sorted(policy_set.regions) if region_name(code)]


@router.post("/register")
def register(request: Request, id_number: Annotated[str, Form(max_length=40)] = "",
             name: Annotated[str, Form(max_length=100)] = "", phone: Annotated[str, Form(max_length=40)] = "",
             region: Annotated[str, Form(max_length=12)] = "", username: Annotated[str, Form(max_length=64)] = "",
             password: Annotated[str, Form(max_length=200)] = ""):
    ctx = request.app.state.ctx
    values = {"id_number": id_number, "name": name, "phone": phone, "region": region, "username": username}
    field_errors = enrolment.check_registration(ctx, id_number=id_number, name=name, phone=phone, region=region,
                                                password=password, username=username or None)
    if field_errors:
        return _register_page(request, 422, values=values, field_errors=field_errors, error=None)
    try:
        person, enrollment, user = enrolment.self_register(ctx, id_number=id_number, name=name, phone=phone,
                                                           region=region, password=password,
                                                           username=username or None)
    except errors.DomainError as exc:
        return _register_page(request, exc.status, values=values, field_errors={}, error=exc)
    token = auth.login(ctx, username=user.username, password=password,
                       address=request.client.host if request.client else None)
    response = render.page(request, "registered.html", person=person, enrollment=enrollment, user=user,
                           steps=enrolment.NEXT_STEPS, verified=person.is_verified)
    session.sign_in(request, response, token)
    return response
