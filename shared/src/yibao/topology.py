"""The five services as the platform knows them: package, env prefix, port, database.

`make run`, the end-to-end fixtures and the deployment checks read this one table, so a
port or database name is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """How to run one service and what it owns."""

    name: str
    package: str
    env_prefix: str
    port: int
    database: str

    def directory(self, repo_root: Path) -> Path:
        """The service's folder (pyproject, Dockerfile, migrations)."""
        return repo_root / "services" / self.name


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("settlement-ingest", "settlement_ingest", "INGEST_", 8101, "yibao_ingest"),
    ServiceSpec(
        "tracecode-validator", "tracecode_validator", "VALIDATOR_", 8102, "yibao_validator"
    ),
    ServiceSpec("credit-scorer", "credit_scorer", "CREDIT_", 8103, "yibao_credit"),
    ServiceSpec(
        "disclosure-publisher", "disclosure_publisher", "PUBLISHER_", 8104, "yibao_publisher"
    ),
    ServiceSpec(
        "enrollment-matcher", "enrollment_matcher", "ENROLLMENT_", 8105, "yibao_enrollment"
    ),
)


def repo_root() -> Path:
    """The checkout this library runs from (shared/src/yibao -> repo)."""
    return Path(__file__).resolve().parents[3]
