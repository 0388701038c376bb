"""Configuration: each service reads its own prefix; platform secrets are read under `YIBAO_`.

Several services share one shell under `make run`, so a variable meant for one service must
never configure another, while the admin token must be the same for all of them.
"""

from __future__ import annotations

import os
from typing import ClassVar

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict
from yibao.settings import PlatformSettings, ServiceSettings


class DemoSettings(ServiceSettings):
    """A service the way every real one declares itself: a prefix, a name, its own knobs."""

    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
    service_name: ClassVar[str] = "demo-service"

    widget_limit: int = 5


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start from no relevant variables, whatever the developer's shell exports."""
    for name in list(os.environ):
        if name.startswith(("YIBAO_", "DEMO_", "INGEST_")) or name in {"PORT", "DATABASE_URL"}:
            monkeypatch.delenv(name)


def test_prefixed_variables_configure_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """`DEMO_PORT` and friends reach the inherited and the service's own fields."""
    monkeypatch.setenv("DEMO_PORT", "9105")
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://u@db:5432/demo")
    monkeypatch.setenv("DEMO_KAFKA_IDEMPOTENT_PRODUCER", "false")
    monkeypatch.setenv("DEMO_WIDGET_LIMIT", "7")
    settings = DemoSettings()
    assert settings.port == 9105
    assert settings.database_url == "postgresql://u@db:5432/demo"
    assert settings.kafka_idempotent_producer is False
    assert settings.widget_limit == 7


def test_variables_without_the_prefix_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bare `PORT` or another service's `INGEST_PORT` must not move this service."""
    monkeypatch.setenv("PORT", "1")
    monkeypatch.setenv("DATABASE_URL", "postgresql://wrong")
    monkeypatch.setenv("INGEST_PORT", "2")
    settings = DemoSettings()
    assert settings.port == ServiceSettings.model_fields["port"].default
    assert settings.database_url == ServiceSettings.model_fields["database_url"].default


def test_a_malformed_value_fails_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo in deployment is refused loudly instead of silently using a default."""
    monkeypatch.setenv("DEMO_PORT", "eighty")
    with pytest.raises(ValidationError, match="port"):
        DemoSettings()


def test_platform_settings_read_the_admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """CONTRACT: with `YIBAO_ADMIN_TOKEN` set, admin endpoints accept that token."""
    monkeypatch.setenv("YIBAO_ADMIN_TOKEN", "s3cret-admin")
    token = PlatformSettings().admin_token
    assert token is not None
    assert token.get_secret_value() == "s3cret-admin"


def test_the_admin_token_is_unset_by_default() -> None:
    """Without the variable there is no admin token (`make run` then generates one)."""
    assert PlatformSettings().admin_token is None


def test_platform_secrets_do_not_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings get logged at start-up; secrets must print masked."""
    monkeypatch.setenv("YIBAO_ADMIN_TOKEN", "s3cret-admin")
    monkeypatch.setenv("YIBAO_JWT_SECRET", "s3cret-jwt")
    shown = repr(DemoSettings())
    assert "s3cret-admin" not in shown
    assert "s3cret-jwt" not in shown


def test_a_service_reads_platform_secrets_under_yibao(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every service must agree on these, so they are read under one shared prefix."""
    monkeypatch.setenv("YIBAO_ADMIN_TOKEN", "s3cret-admin")
    monkeypatch.setenv("YIBAO_JWT_SECRET", "s3cret-jwt")
    monkeypatch.setenv("YIBAO_EMBEDDED", "true")
    platform = DemoSettings().platform
    assert platform.admin_token is not None
    assert platform.admin_token.get_secret_value() == "s3cret-admin"
    assert platform.jwt_secret.get_secret_value() == "s3cret-jwt"
    assert platform.embedded is True


def test_the_consumer_group_is_the_service_name() -> None:
    """Replicas of one service share partitions; different services each see every event."""
    assert DemoSettings().consumer_group == "demo-service"
    assert ServiceSettings().consumer_group == ServiceSettings.service_name
