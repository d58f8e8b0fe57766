"""Background jobs' pages: /jobs (the signed-in user's latest jobs) and /jobs/{id} (one job's progress, refreshing
itself until it is done, then its result; a failed or stalled job may be retried there). Only the user who started a
job, or an administrator, sees it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from yibao.domain import errors
from yibao.domain.jobs import Job
from yibao.domain.users import Actor
from yibao.services.jobs import work
from yibao.web import csrf, render, session
from yibao.web.labels import N_

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])

SignedIn = Annotated[Actor, Depends(session.signed_in)]

REFRESH_SECONDS = 2
KIND_NAMES = {"unit_import": N_("Enrolment from a file"), "bank_batch": N_("Bank batches"),
              "residents_import": N_("Residents register import")}
KIND_PAGES = {"unit_import": "/unit/imports/{subject_id}", "bank_batch": "/review/batches",  # what a job works on
              "residents_import": "/admin/residents"}
RESULT_PAGES = {"bank_batch": ("batch_ids", "/review/batches/{}")}  # what a finished job made, by kind: its pages
STATES = {"queued": N_("Waiting for a worker"), "running": N_("In progress"), "done": N_("Done"),
          "failed": N_("Stopped by an error")}
RESULT_LABELS = {  # the counts of each kind's result, as its page names them
    "unit_import": {"enrolled": N_("Enrolled"), "unchanged": N_("Already enrolled, unchanged"),
                    "rejected": N_("Refused")},
    "bank_batch": {"batches": N_("Bank batches made"), "lines": N_("Payments in them"),
                   "left": N_("Cases left for later")},
    "residents_import": {"rows": N_("Rows"), "accepted": N_("New in the register"), "updated": N_("Changed"),
                         "unchanged": N_("Already in the register as given"), "rejected": N_("Refused"),
                         "life_events": N_("Life events recorded")},
}


def _ctx(request: Request):
    return request.app.state.ctx


def _subject_page(job: Job) -> str | None:
    return KIND_PAGES[job.kind].format(subject_id=job.subject_id) if job.kind in KIND_PAGES and job.subject_id else None


def _made_pages(job) -> list[str]:
    """The pages of what a finished job made (the bank batches of a batch run)."""
    if job.kind not in RESULT_PAGES or not job.result:
        return []
    key, page = RESULT_PAGES[job.kind]
    return [page.format(made) for made in job.result.get(key, [])]


@router.get("/jobs")
def my_jobs(request: Request, actor: SignedIn):
    ctx = _ctx(request)
    return render.page(request, "jobs/index.html", jobs=work.mine(ctx, actor=actor),
                       kind_names=KIND_NAMES, states=STATES)


@router.get("/jobs/{job_id}")
def job_progress(request: Request, actor: SignedIn, job_id: str, watch: int = 1):
    """The job's progress, refreshing itself while it runs (unless `watch=0`), then its result."""
    ctx = _ctx(request)
    job = work.progress(ctx, actor=actor, job_id=job_id)
    labels = RESULT_LABELS.get(job.kind, {})
    result = [(labels[k], v) for k, v in (job.result or {}).items() if k in labels]
    return render.page(request, "jobs/progress.html", job=job, watch=bool(watch), stalled=job.stalled(ctx.now()),
                       retryable=job.retryable(ctx.now()), result=result, subject_page=_subject_page(job),
                       made=_made_pages(job),
                       kind_names=KIND_NAMES, states=STATES, refresh_seconds=REFRESH_SECONDS)


@router.post("/jobs/{job_id}/retry")
def retry(request: Request, actor: SignedIn, job_id: str):
    ctx = _ctx(request)
    try:
        work.retry(ctx, actor=actor, job_id=job_id)
    except errors.JobNotRetryable as exc:
        return session.redirect(request, f"/jobs/{job_id}", flash=("error", render.error_text(request, exc)))
    _ = render.gettext(request)
    return session.redirect(request, f"/jobs/{job_id}", flash=("success", _("The job starts again where it stopped.")))
