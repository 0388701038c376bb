"""enrollment-matcher: one file per person (一人一档) from many departments' records."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from fastapi import FastAPI
from yibao.pii import FieldCipher
from yibao.service import Runtime, create_service_app

from enrollment_matcher.api import ledgers, persons, population
from enrollment_matcher.api.deps import EnrollmentContext
from enrollment_matcher.domain.linker import Thresholds
from enrollment_matcher.handlers import build_handlers
from enrollment_matcher.jobs import JobWorker
from enrollment_matcher.person_file import FileConfig, PersonFile
from enrollment_matcher.settings import EnrollmentSettings
from enrollment_matcher.vault import Vault


def build_file(settings: EnrollmentSettings) -> tuple[PersonFile, Vault]:
    """The person file with this deployment's key and policy."""
    vault = Vault(settings.platform.pii_key.get_secret_value())
    thresholds = Thresholds(
        link=settings.link_probability,
        merge=settings.merge_probability,
        review_low=settings.review_low,
        review_high=settings.review_high,
    )
    return PersonFile(vault, FileConfig(thresholds, settings.local_admdvs)), vault


def create_app(settings: EnrollmentSettings | None = None) -> FastAPI:
    """Build the app."""
    settings = settings or EnrollmentSettings()
    file, vault = build_file(settings)
    tasks: list[asyncio.Task[None]] = []

    async def on_start(runtime: Runtime) -> None:
        worker = JobWorker(
            runtime.uow,
            file,
            vault,
            today=lambda: datetime.now(UTC).date(),
            chunk_size=settings.job_chunk_size,
            fit_sample=settings.fit_sample_size,
            poll_interval_s=settings.job_poll_interval_s,
        )
        app.state.enrollment = EnrollmentContext(file, worker, vault, runtime.uow)
        tasks.append(asyncio.create_task(worker.run(), name="population-jobs"))

    async def on_stop(_runtime: Runtime) -> None:
        app.state.enrollment.worker.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)

    app = create_service_app(
        settings,
        title="Yibao enrollment-matcher",
        description="一人一档: record linkage of population records into persons, enrollment "
        "status and reasons.",
        routers=[population.router, persons.router, ledgers.router],
        handlers=build_handlers(file, FieldCipher(settings.platform.pii_key.get_secret_value())),
        on_start=on_start,
        on_stop=on_stop,
        body_limits={population.UPLOAD_PATH: settings.max_upload_bytes},
    )
    return app
