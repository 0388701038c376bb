"""A small pharmacy world shared by the rule, decision and return tests.

The fixtures are pure factories over a read-only catalogue, so one instance serves the whole
session (and hypothesis tests may use them).
"""

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone

import pytest
from tracecode_validator.domain.catalogue import Catalogue, PackLevel, Product, TracePrefix
from tracecode_validator.domain.registry import CodeRecord, MovementType, stock_in
from tracecode_validator.domain.rules.context import (
    Eligibility,
    InstitutionCredit,
    PractitionerStatus,
    PriorPurchase,
    SaleContext,
    SaleLine,
    Settlement,
)
from tracecode_validator.domain.rules.policy import RulePolicy

PHARMACY = "P15030200007"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=8)))

PRODUCTS = (
    Product(
        med_list_codg="XA01ABA014A001010101445",
        name="阿司匹林肠溶片",
        units_per_pack=24,
        split_allowed=True,
        rx_flag=False,
        gtins=("6924561884074",),
        trace_prefixes=(
            TracePrefix("8123456", PackLevel.BOX),
            TracePrefix("8123457", PackLevel.MIDDLE),
            TracePrefix("8123458", PackLevel.CASE),
        ),
    ),
    Product(
        med_list_codg="XA10ABA001B002020202020",
        name="胰岛素注射液",
        units_per_pack=5,
        split_allowed=False,
        rx_flag=True,
        gtins=("6901234567892",),
        trace_prefixes=(TracePrefix("8234567", PackLevel.BOX),),
    ),
    Product(
        med_list_codg="XC09CAC007A001010101999",
        name="缬沙坦片（进口）",
        units_per_pack=28,
        split_allowed=True,
        rx_flag=True,
        gtins=("4006381333931",),
    ),
    Product(
        med_list_codg="ZA01AAA0001010101010101",
        name="连花清瘟胶囊",
        units_per_pack=36,
        split_allowed=True,
        rx_flag=False,
        trace_prefixes=(TracePrefix("ZY2024A", PackLevel.BOX),),
    ),
)


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue(PRODUCTS)


@pytest.fixture(scope="session")
def stocked(catalogue: Catalogue) -> Callable[..., dict[str, CodeRecord]]:
    """Build in-stock records for 20-digit or manufacturer codes, as purchases would."""

    def build(*codes: str, institution: str = PHARMACY) -> dict[str, CodeRecord]:
        records: dict[str, CodeRecord] = {}
        for code in codes:
            match = catalogue.by_prefix(code)
            assert match is not None
            record = stock_in(
                None,
                key=code,
                med_list_codg=match.product.med_list_codg,
                units_per_pack=match.product.units_per_pack,
                institution=institution,
                movement=MovementType.PURCHASE_IN,
            )
            assert isinstance(record, CodeRecord)
            records[code] = record
        return records

    return build


@pytest.fixture(scope="session")
def make_context(catalogue: Catalogue) -> Callable[..., SaleContext]:
    def build(
        *lines: SaleLine,
        records: Mapping[str, CodeRecord] | None = None,
        institution: str = PHARMACY,
        person: str | None = "person-hash-1",
        settlement_id: str = "S-1",
        at: datetime = NOW,
        prescriber: str | None = None,
        pharmacist: str | None = None,
        emergency: bool = False,
        eligibility: Eligibility | None = None,
        credit: InstitutionCredit | None = None,
        practitioners: Mapping[str, PractitionerStatus] | None = None,
        recent: tuple[PriorPurchase, ...] = (),
        exempt: frozenset[tuple[str, str]] = frozenset(),
        policy: RulePolicy | None = None,
    ) -> SaleContext:
        settlement = Settlement(
            settlement_id=settlement_id,
            institution=institution,
            person=person,
            setl_time=at,
            lines=lines,
            prescriber=prescriber,
            pharmacist=pharmacist,
            emergency=emergency,
        )
        return SaleContext(
            settlement=settlement,
            catalogue=catalogue,
            records=records or {},
            eligibility=eligibility,
            credit=credit,
            practitioners=practitioners or {},
            recent_purchases=recent,
            no_code_exempt=exempt,
            policy=policy or RulePolicy(),
        )

    return build
