"""disclosure-publisher configuration (env prefix `PUBLISHER_`)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from yibao.settings import ServiceSettings

from disclosure_publisher.domain.drg import OutlierRatios
from disclosure_publisher.domain.reports import Thresholds
from disclosure_publisher.domain.retry import BreakerPolicy, RetryPolicy


class PublisherSettings(ServiceSettings):
    """Settings of disclosure-publisher."""

    model_config = SettingsConfigDict(env_prefix="PUBLISHER_", extra="ignore")
    service_name: ClassVar[str] = "disclosure-publisher"

    port: int = 8104
    kafka_fetch_min_bytes: int = 65_536
    """Off the real-time path: let the broker batch fetches (up to the max wait)."""
    database_url: str = "postgresql://postgres@127.0.0.1:5432/yibao_publisher"

    delivery_enabled: bool = True
    """Run the delivery worker in this replica (any number of replicas may)."""
    delivery_batch_size: int = 200
    delivery_concurrency: int = 100
    delivery_cycles: int = 3
    """Claim → send → record loops per replica, overlapping database and HTTP waits."""
    delivery_timeout_s: float = 10.0
    delivery_lease_s: float = 60.0
    """A claimed delivery is re-claimable after this long (a crashed worker's work returns)."""
    delivery_poll_interval_s: float = 0.5
    delivery_backoff_base_s: float = 5.0
    delivery_backoff_max_s: float = 6 * 3600.0
    delivery_horizon_s: float = 3 * 24 * 3600.0
    breaker_failures_to_open: int = 5
    breaker_open_s: float = 60.0
    breaker_disable_after_s: float = 5 * 24 * 3600.0
    secret_overlap_s: float = 24 * 3600.0
    """After a rotation the previous secret keeps signing this long (Standard Webhooks)."""
    monthly_schedule_day: int | None = Field(default=5, ge=1, le=28)
    """The monthly run for the previous month is queued from this day on (None: on demand only)."""
    feedback_response_days: int = 30
    """Policy parameter: days an institution has to answer a notice line or rectify."""
    feedback_owner: str = "bureau-supervision"
    """Who owns new feedback items until a bureau user reassigns them."""
    overdue_sweep_interval_s: float = 60.0
    drg_adjustment: dict[str, float] = Field(
        default_factory=lambda: {"tertiary": 1.0, "secondary": 1.0, "primary": 1.0}
    )
    """Point-value settlement: case points = base points × this, by institution level."""
    drg_outlier_ratios: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {"default": {"high": 2.0, "low": 0.4}}
    )
    """High/low-ratio cases by year (`{"2026": {"high": 3, "low": 0.3}}`), else `default`:
    multiples of the group's region mean cost (policy parameters of the pooling area)."""
    drg_budget: dict[str, Decimal] = Field(default_factory=dict)
    """DRG budget per period (`{"2026-10": "1000000"}`); without one the region's fund paid."""

    quarterly_thresholds: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {"fund_growth": {"yellow": 0.10, "red": 0.20, "hysteresis": 0.02}}
    )
    """R/Y/G warnings (policy parameters, DOMAIN §3.1: spending growth > 20 % over baseline is
    red, a yellow band below it); hysteresis is how far below a band a value must fall to
    leave it."""
    quarterly_peer_z: float = 2.0
    """An institution is abnormal against its peers (same level) beyond this z-score."""

    def outlier_ratios(self, period: str) -> OutlierRatios:
        band = self.drg_outlier_ratios.get(period[:4]) or self.drg_outlier_ratios["default"]
        return OutlierRatios(**band)

    def thresholds(self) -> dict[str, Thresholds]:
        return {name: Thresholds(**band) for name, band in self.quarterly_thresholds.items()}

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            base_s=self.delivery_backoff_base_s,
            max_delay_s=self.delivery_backoff_max_s,
            horizon_s=self.delivery_horizon_s,
        )

    def breaker_policy(self) -> BreakerPolicy:
        return BreakerPolicy(
            failures_to_open=self.breaker_failures_to_open,
            open_s=self.breaker_open_s,
            disable_after_s=self.breaker_disable_after_s,
        )
