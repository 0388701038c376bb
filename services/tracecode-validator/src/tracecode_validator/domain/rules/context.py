"""Everything the rules may look at for one settlement, loaded by the service beforehand.

The rules read nothing else, which is what lets a decision be replayed from its inputs.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property
from typing import Literal

from tracecode_validator.domain.catalogue import Catalogue, CodeMatch
from tracecode_validator.domain.checkdigits import is_valid_med_list_code
from tracecode_validator.domain.codes import CodeError, CodeFamily, ParsedCode, parse_code
from tracecode_validator.domain.registry import CodeRecord
from tracecode_validator.domain.rules.policy import RulePolicy


class Eligibility(StrEnum):
    INSURED = "insured"
    NOT_ENROLLED = "not_enrolled"
    SUSPENDED = "suspended"
    DECEASED = "deceased"


class CreditGrade(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class PractitionerStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class InstitutionCredit:
    grade: CreditGrade | None
    blacklisted: bool = False


@dataclass(frozen=True, slots=True)
class PriorPurchase:
    med_list_codg: str
    start: date
    days_supply: int


@dataclass(frozen=True)
class SaleLine:
    """A drug line in the national platform's terms.

    ``trdn_flag`` 0 sells whole packs (``sel_retn_cnt`` packs, one code each); 1 sells
    ``sel_retn_cnt`` smallest units from the single pack whose code is scanned.
    """

    med_list_codg: str
    trdn_flag: Literal[0, 1]
    sel_retn_cnt: int
    drug_trac_codg: tuple[str, ...] = ()
    drug_prod_barc: str | None = None
    days_of_supply: int | None = None

    @property
    def split(self) -> bool:
        return self.trdn_flag == 1

    @property
    def is_drug(self) -> bool:
        """Only drugs carry trace codes; consumables and services are billed code-free."""
        return is_valid_med_list_code(self.med_list_codg)

    @cached_property
    def scans(self) -> tuple[ParsedCode | CodeError, ...]:
        """Each scanned string read once, in request order, shared by every rule."""
        return tuple(parse_code(text) for text in self.drug_trac_codg)


@dataclass(frozen=True)
class Settlement:
    """A sale. ``person`` is the pseudonymous person hash; practitioners are identified by
    certificate number (credit's subject id), so hits show them masked."""

    settlement_id: str
    institution: str
    person: str | None
    setl_time: datetime
    lines: tuple[SaleLine, ...]
    prescriber: str | None = None
    pharmacist: str | None = None
    emergency: bool = False

    @property
    def code_keys(self) -> frozenset[str]:
        """The registry keys the service must load before deciding."""
        return frozenset(
            scan.key for line in self.lines for scan in line.scans if isinstance(scan, ParsedCode)
        )


@dataclass(frozen=True, eq=False)
class SaleContext:
    """The settlement plus projections; a code missing from ``records`` is unknown."""

    settlement: Settlement
    catalogue: Catalogue
    records: Mapping[str, CodeRecord] = field(default_factory=dict)
    eligibility: Eligibility | None = None
    credit: InstitutionCredit | None = None
    practitioners: Mapping[str, PractitionerStatus] = field(default_factory=dict)
    recent_purchases: tuple[PriorPurchase, ...] = ()
    no_code_exempt: frozenset[tuple[str, str]] = frozenset()
    policy: RulePolicy = field(default_factory=RulePolicy)


@dataclass(frozen=True, slots=True)
class Scan:
    """A code that belongs to a family, with the catalogue's word on what it is."""

    line: int
    text: str
    code: ParsedCode
    match: CodeMatch | None


def usable_scans(context: SaleContext) -> Iterator[Scan]:
    """Yield the scans the product and stock rules judge, in request order.

    A manufacturer code only counts as a code once the catalogue knows its prefix, so an
    unregistered one is left to the malformed-code rule like any other unreadable scan.
    """
    for index, line in enumerate(context.settlement.lines):
        for text, scan in zip(line.drug_trac_codg, line.scans, strict=True):
            if isinstance(scan, CodeError):
                continue
            match = context.catalogue.identify(scan)
            if match is None and scan.family is CodeFamily.MANUFACTURER:
                continue
            yield Scan(index, text, scan, match)
