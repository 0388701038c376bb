"""A population record as received, and its normalised form for linkage.

Parsing never raises: a row either becomes a `Record` or a list of per-field reasons for
the job's error report. An unusable ID number is not a rejection (most of the hard cases
have one): the record is kept and linked on its other fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from enrollment_matcher.domain import ids, text
from enrollment_matcher.domain.status import SOURCE_STATUSES, Fact

COLUMNS = (
    "record_id",
    "source",
    "certno",
    "psn_name",
    "gender",
    "birth_date",
    "phone",
    "hukou_admdvs",
    "address",
    "record_date",
    "status",
    "status_date",
)
SOURCES = frozenset(
    {
        "insurance",
        "social_security",
        "health",
        "civil_affairs",
        "public_security",
        "education",
        "military",
        "justice",
    }
)
_ADMDVS = re.compile(r"^\d{6}(\d{3}){0,2}$")
_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one field of a row could not be accepted."""

    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class Record:
    """A record normalised for comparison (names simplified, ID upgraded, dates parsed)."""

    record_id: str
    source: str
    certno: str = ""
    id_state: ids.IdState = ids.IdState.MISSING
    id_consistent: bool = True
    """False when the stated birth date contradicts the ID number: someone else's number."""
    name: str = ""
    name_pinyin: tuple[str, ...] = ()
    gender: str | None = None
    birth_date: date | None = None
    phone: str = ""
    hukou_admdvs: str = ""
    address: str = ""
    record_date: date | None = None
    status: str = ""
    status_date: date | None = None
    repair_hints: tuple[str, ...] = field(default=(), compare=False)

    @property
    def linking_id(self) -> str:
        """The ID number if it may link records by itself (usable and consistent)."""
        return self.certno if self.id_state_usable and self.id_consistent else ""

    @property
    def id_state_usable(self) -> bool:
        return self.id_state in (ids.IdState.VALID, ids.IdState.UPGRADED)

    @property
    def fact(self) -> Fact:
        """This record's status claim for the precedence rules (its source counts even
        without a status: social security knowing a person marks a worker)."""
        return Fact(self.source, self.status, self.status_date or self.record_date)


def _date(value: str, name: str, problems: list[Rejection]) -> date | None:
    value = text.clean(value)
    if not value:
        return None
    found = _DATE.match(value)
    if found is None:
        problems.append(Rejection(name, "not a date (YYYY-MM-DD)"))
        return None
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        problems.append(Rejection(name, "not a calendar date"))
        return None


def parse_row(row: Mapping[str, str | None], *, today: date) -> Record | list[Rejection]:
    """Validate and normalise one CSV row (columns of `COLUMNS`; empty cells allowed)."""
    get = {k: (row.get(k) or "") for k in COLUMNS}
    problems: list[Rejection] = []
    record_id = text.clean(get["record_id"])
    if not record_id:
        problems.append(Rejection("record_id", "required"))
    elif len(record_id) > 64:
        problems.append(Rejection("record_id", "longer than 64 characters"))
    source = text.clean(get["source"]).lower()
    if source not in SOURCES:
        problems.append(Rejection("source", "required, one of " + ", ".join(sorted(SOURCES))))
    gender = text.clean(get["gender"]) or None
    if gender is not None and gender not in ("1", "2", "9"):
        problems.append(Rejection("gender", "one of 1 (male), 2 (female), 9 (unknown)"))
    birth = _date(get["birth_date"], "birth_date", problems)
    if birth is not None and birth > today:
        problems.append(Rejection("birth_date", "in the future"))
    record_date = _date(get["record_date"], "record_date", problems)
    status_date = _date(get["status_date"], "status_date", problems)
    status = text.clean(get["status"]).lower()
    if status and status not in SOURCE_STATUSES:
        problems.append(Rejection("status", "one of " + ", ".join(sorted(SOURCE_STATUSES))))
    hukou = text.clean(get["hukou_admdvs"])
    if hukou and not _ADMDVS.match(hukou):
        problems.append(Rejection("hukou_admdvs", "6, 9 or 12 digits"))
    name = text.normalise_name(get["psn_name"])
    if len(name) > 64:
        problems.append(Rejection("psn_name", "longer than 64 characters"))
    if problems:
        return problems

    idn = ids.parse(get["certno"], today=today)
    consistent = True
    if idn.usable and birth is not None and idn.birth_date != birth:
        consistent = False
    hints: tuple[str, ...] = ()
    if idn.state is ids.IdState.INVALID:
        hints = tuple(ids.repair_suggestions(idn.value))
    known_gender = gender if gender in ("1", "2") else None
    return Record(
        record_id=record_id,
        source=source,
        certno=idn.value,
        id_state=idn.state,
        id_consistent=consistent,
        name=name,
        name_pinyin=text.pinyin(name),
        gender=known_gender or (idn.gender if idn.usable and consistent else None),
        birth_date=birth or idn.birth_date,
        phone="".join(ch for ch in text.clean(get["phone"]) if ch.isdigit())[-11:],
        hukou_admdvs=hukou,
        address=text.clean(get["address"]),
        record_date=record_date,
        status=status,
        status_date=status_date,
        repair_hints=hints,
    )
