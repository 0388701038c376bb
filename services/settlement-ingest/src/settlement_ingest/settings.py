"""settlement-ingest configuration (env prefix `INGEST_`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from yibao.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    """Ingest answers POS/HIS calls; the decision deadline bounds how long a sale waits."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")
    service_name: ClassVar[str] = "settlement-ingest"

    port: int = 8101
    database_url: str = "postgresql://postgres@127.0.0.1:5432/yibao_ingest"
    decision_deadline_s: float = 2.0
    return_window_days: int = 10
