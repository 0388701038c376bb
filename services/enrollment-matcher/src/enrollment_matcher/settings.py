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
