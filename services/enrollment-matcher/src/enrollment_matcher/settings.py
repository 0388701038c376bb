"""enrollment-matcher configuration (env prefix `ENROLLMENT_`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from yibao.settings import ServiceSettings


class EnrollmentSettings(ServiceSettings):
    """Settings of enrollment-matcher."""

    model_config = SettingsConfigDict(env_prefix="ENROLLMENT_", extra="ignore")
    service_name: ClassVar[str] = "enrollment-matcher"

    port: int = 8105
    database_url: str = "postgresql://postgres@127.0.0.1:5432/yibao_enrollment"
    kafka_fetch_min_bytes: int = 65_536
    """Off the real-time path: let the broker batch fetches (up to the max wait)."""
    local_admdvs: str = "1503"
    """This city's administrative code prefix (households outside it may be migrant workers)."""
    max_upload_bytes: int = 4 * 1024**3
    """Body limit of the streamed CSV upload (other requests keep `MAX_BODY_BYTES`)."""
    job_chunk_size: int = 2000
    fit_sample_size: int = 20_000
    """Rows at the start of a bulk load on which the match weights are re-estimated."""
    job_poll_interval_s: float = 1.0
    link_probability: float = 0.5
    merge_probability: float = 0.99
    review_low: float = 0.1
    review_high: float = 0.95
    """Probabilities: link at or above `link_probability`; a record that strongly matches
    (≥ `merge_probability`) two persons joins them; decisions between `review_low` and
    `review_high` are queued for a clerk."""
