"""tracecode-validator configuration (env prefix `VALIDATOR_`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from yibao.settings import ServiceSettings


class ValidatorSettings(ServiceSettings):
    """Settings of tracecode-validator."""

    model_config = SettingsConfigDict(env_prefix="VALIDATOR_", extra="ignore")
    service_name: ClassVar[str] = "tracecode-validator"

    port: int = 8102
    database_url: str = "postgresql://postgres@127.0.0.1:5432/yibao_validator"
    supply_tolerance: float = 1.2
    warn_on_non_8_prefix: bool = True
    split_sales_allowed: bool = True
    return_window_days: int = 10
    purchase_lookback_days: int = 365
    rule_actions: dict[str, str] = Field(default_factory=dict)
    """Per-rule action overrides, e.g. `{"not_in_stock": "reject"}` (JSON in the env var)."""
