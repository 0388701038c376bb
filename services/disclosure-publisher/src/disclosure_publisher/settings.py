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
    kafka_fetch_min_bytes: int = 65_536
    """Off the real-time path: let the broker batch fetches (up to the max wait)."""
    database_url: str = "postgresql://postgres@127.0.0.1:5432/yibao_publisher"
