"""tracecode-validator configuration (env prefix `VALIDATOR_`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from yibao.settings import ServiceSettings


class ValidatorSettings(ServiceSettings):
    """Settings of tracecode-validator."""

    model_config = SettingsConfigDict(env_prefix="VALIDATOR_", extra="ignore")
    service_name: ClassVar[str] = "tracecode-validator"

    port: int = 8102
    database_url: str = "postgresql://postgres@127.0.0.1:5432/yibao_validator"
