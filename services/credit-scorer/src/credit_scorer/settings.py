"""credit-scorer configuration (env prefix `CREDIT_`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from yibao.settings import ServiceSettings


class CreditSettings(ServiceSettings):
    """Settings of credit-scorer."""

    model_config = SettingsConfigDict(env_prefix="CREDIT_", extra="ignore")
    service_name: ClassVar[str] = "credit-scorer"

    port: int = 8103
    kafka_fetch_min_bytes: int = 65_536
    """Off the real-time path: let the broker batch fetches (up to the max wait)."""
    database_url: str = "postgresql://postgres@127.0.0.1:5432/yibao_credit"
    sweep_interval_s: float = 300.0
    """How often standings that change with the date alone are re-folded."""
    sweep_batch_size: int = 500
