"""enrollment-matcher: one file per person (一人一档) from many departments' records.

So far it runs the platform plumbing (health, metrics, the institution projection); record
linkage and the person file are the enrollment issue's work.
"""

from __future__ import annotations

from fastapi import FastAPI
from yibao.service import create_service_app

from enrollment_matcher.settings import EnrollmentSettings


def create_app(settings: EnrollmentSettings | None = None) -> FastAPI:
    """Build the app."""
    return create_service_app(
        settings or EnrollmentSettings(),
        title="Yibao enrollment-matcher",
        description="一人一档: record linkage of population records into persons, enrollment "
        "status and reasons.",
        routers=[],
        handlers={},
    )
