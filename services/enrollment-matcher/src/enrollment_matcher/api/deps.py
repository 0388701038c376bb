"""What the routes need from the running service, as FastAPI dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from yibao.db import UnitOfWorkFactory
from yibao.pii import mask_certno, mask_name
from yibao.problems import ProblemError

from enrollment_matcher.jobs import JobWorker
from enrollment_matcher.person_file import PersonFile, PersonFileError
from enrollment_matcher.vault import Vault

PII_ROLE = "pii_reader"
"""The bureau role that may see ID numbers and names in clear (the admin token holds all)."""


@dataclass(frozen=True, slots=True)
class EnrollmentContext:
    """The running service's person file, job worker, vault and units of work."""

    file: PersonFile
    worker: JobWorker
    vault: Vault
    uow: UnitOfWorkFactory


async def _context(request: Request) -> EnrollmentContext:
    ctx: EnrollmentContext = request.app.state.enrollment
    return ctx


Context = Annotated[EnrollmentContext, Depends(_context)]


def identity_view(certno: str, name: str, *, reveal: bool) -> dict[str, Any]:
    """An ID number and a name, masked unless the caller may see them."""
    if reveal:
        return {"certno": certno or None, "psn_name": name or None}
    return {
        "certno": mask_certno(certno) if certno else None,
        "psn_name": mask_name(name) if name else None,
    }


def problem_of(error: PersonFileError) -> ProblemError:
    """The person file's refusals as problem+json."""
    status = 404 if error.code.endswith("not_found") else 409
    return ProblemError(status, error.code, "Person file refused the command", error.detail)
