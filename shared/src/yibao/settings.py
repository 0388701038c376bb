"""Configuration from the environment (pydantic-settings), built by each service, never imported.

Infrastructure settings carry the service's own prefix (`INGEST_DATABASE_URL`, …) so several
services can share one shell; platform-wide secrets (`YIBAO_ADMIN_TOKEN`, …) are read once
under `YIBAO_` because every service must agree on them.
"""

from __future__ import annotations

import secrets
from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlatformSettings(BaseSettings):
    """Secrets and switches shared by every service."""

    model_config = SettingsConfigDict(env_prefix="YIBAO_", extra="ignore")

    admin_token: SecretStr | None = None
    jwt_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)))
    pii_key: SecretStr = SecretStr("yibao-dev-pii-key-change-me")
    embedded: bool = False
    webhook_allow_private: bool = False


class ServiceSettings(BaseSettings):
    """What every service needs: where it listens, its database, the broker and the bus knobs."""

    model_config = SettingsConfigDict(extra="ignore")
    service_name: ClassVar[str] = "yibao"

    host: str = "127.0.0.1"
    port: int = 8100
    database_url: str = "postgresql://postgres@127.0.0.1:5432/yibao"
    db_pool_min: int = 2
    db_pool_max: int = 10
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_fetch_max_wait_ms: int = 500
    """A long poll: Apache Kafka answers as soon as data arrives, so this only bounds idle
    polling (10 ms cost the broker two-thirds of a core while idle). Tansu sleeps the full
    wait, so the embedded runtime sets 10 there."""
    kafka_fetch_min_bytes: int = 1
    """1 answers each fetch at the first record (the real-time path); services off that path
    raise it so the broker batches their fetches instead of answering one per event."""
    consumer_commit_interval_s: float = 0.1
    kafka_linger_ms: int = 1
    kafka_idempotent_producer: bool = True
    kafka_client_id: str | None = None
    kafka_topic_suffix: str = ""
    consumer_batch_size: int = 500
    consumer_max_retries: int = 3
    outbox_batch_size: int = 5000
    outbox_poll_interval_s: float = 0.5
    max_body_bytes: int = 1_048_576
    log_level: str = "INFO"
    platform: PlatformSettings = Field(default_factory=PlatformSettings)

    @property
    def consumer_group(self) -> str:
        """One consumer group per service, so replicas share partitions."""
        return self.service_name
