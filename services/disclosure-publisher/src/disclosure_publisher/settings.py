"""disclosure-publisher configuration (env prefix `PUBLISHER_`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from yibao.settings import ServiceSettings


class PublisherSettings(ServiceSettings):
    """Settings of disclosure-publisher."""

    model_config = SettingsConfigDict(env_prefix="PUBLISHER_", extra="ignore")
    service_name: ClassVar[str] = "disclosure-publisher"

    port: int = 8104
    database_url: str = "postgresql://postgres@127.0.0.1:5432/yibao_publisher"
