"""The kinds of job and the handler that carries each out: `handler(ctx, job, progress) -> result` (a small dict,
shown on the job's page). A handler must be safe to run again: a retry after a crash runs it on the same job."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from yibao.domain import errors

KINDS = {
    "unit_import": "yibao.services.registry.unit_imports:run_job",
    "bank_batch": "yibao.services.applications.disbursement:run_job",
    "residents_import": "yibao.services.registry.residents:run_job",
}


def handler_of(kind: str) -> Callable:
    """The handler of a kind of job (imported when first needed, so the services import one another lazily)."""
    if kind not in KINDS:
        raise errors.JobKindUnknown()
    module, name = KINDS[kind].split(":")
    return getattr(import_module(module), name)
