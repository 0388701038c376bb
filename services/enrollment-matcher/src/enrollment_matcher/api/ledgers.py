"""Ledgers by area (the four ledgers + target groups, enrollment rate) and uninsured lists."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from yibao.auth import AdminPrincipal

from enrollment_matcher import repository as repo
from enrollment_matcher.api.deps import Context, identity_view
from enrollment_matcher.domain.status import AWAY, TARGET_GROUPS, enrollment_rate

router = APIRouter(prefix="/v1/admin/enrollment", tags=["ledgers"])
DIGITS = {"county": 6, "township": 9, "village": 12}
Level = Literal["county", "township", "village"]
AdmdvsPrefix = Annotated[str, Query(pattern=r"^\d{2,12}$", description="area code prefix")]


class AreaLedger(BaseModel):
    admdvs: str
    persons: int
    insured_local: int
    insured_province: int
    insured_other_province: int
    uninsured: int
    deceased: int
    reasons: dict[str, int]
    target_groups: dict[str, int]
    should_enroll: int = Field(
        description="living persons not away for a reason (military, custody, abroad)"
    )
    enrollment_rate: float | None = Field(description="insured / should_enroll")


class Ledgers(BaseModel):
    level: Level
    areas: list[AreaLedger]


@router.get("/ledgers", response_model=Ledgers)
async def ledgers(
    _admin: AdminPrincipal, ctx: Context, admdvs: AdmdvsPrefix, level: Level = "county"
) -> Ledgers:
    """Counts by household-registration area under `admdvs`."""
    async with ctx.uow() as uow:
        rows = await repo.ledgers(uow.conn, admdvs, DIGITS[level])
    areas = []
    for r in rows:
        should, rate = enrollment_rate(
            persons=r["persons"],
            insured=r["insured_local"] + r["insured_province"] + r["insured_other_province"],
            deceased=r["deceased"],
            away=sum(r[k] for k in AWAY),
        )
        areas.append(
            AreaLedger(
                admdvs=r["area"],
                persons=r["persons"],
                insured_local=r["insured_local"],
                insured_province=r["insured_province"],
                insured_other_province=r["insured_other_province"],
                uninsured=r["uninsured"],
                deceased=r["deceased"],
                reasons={k: r[k] for k in ("enlisted", "in_custody", "emigrated", "personal")},
                target_groups={g: r[g] for g in TARGET_GROUPS},
                should_enroll=should,
                enrollment_rate=rate,
            )
        )
    return Ledgers(level=level, areas=areas)


class UninsuredPerson(BaseModel):
    person_id: str
    certno: str | None
    psn_name: str | None
    hukou_admdvs: str | None
    reason: str | None
    target_groups: list[str]


class UninsuredPage(BaseModel):
    items: list[UninsuredPerson]
    next_cursor: str | None


@router.get("/uninsured", response_model=UninsuredPage)
async def uninsured(
    _admin: AdminPrincipal,
    ctx: Context,
    admdvs: AdmdvsPrefix,
    cursor: str = "",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> UninsuredPage:
    """Living uninsured persons of a county / township / village, masked, for grassroots units."""
    async with ctx.uow() as uow:
        rows = await repo.uninsured(uow.conn, admdvs, cursor, limit)
    items = []
    for r in rows:
        display = orjson.loads(ctx.vault.decrypt(r["display"])) if r["display"] else {}
        items.append(
            UninsuredPerson(
                person_id=r["person_id"],
                **identity_view(display.get("certno", ""), display.get("name", ""), reveal=False),
                hukou_admdvs=r["hukou_admdvs"],
                reason=r["reason"],
                target_groups=list(r["target_groups"]),
            )
        )
    return UninsuredPage(
        items=items, next_cursor=items[-1].person_id if len(items) == limit else None
    )
