"""A person's file (records, links with evidence, status, history) and clerks' split/merge."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from yibao.auth import AdminPrincipal, forbidden
from yibao.problems import ProblemError
from yibao.requests import RequestModel

from enrollment_matcher import repository as repo
from enrollment_matcher.api.deps import PII_ROLE, Context, identity_view, problem_of
from enrollment_matcher.person_file import PersonFileError

router = APIRouter(prefix="/v1", tags=["persons"])


class RecordView(BaseModel):
    record_id: str
    source: str
    certno: str | None
    psn_name: str | None
    id_state: str
    gender: str | None
    birth_date: date | None
    hukou_admdvs: str | None
    record_date: date | None
    status: str | None
    status_date: date | None


class LinkView(BaseModel):
    record_id: str
    person_id: str
    evidence: dict[str, Any] = Field(
        description="rule (certno | probabilistic | new), probability, weight, per-field "
        "weights, and the record it was matched against"
    )


class HistoryEntry(BaseModel):
    at: datetime
    kind: str
    detail: dict[str, Any]


class PersonView(BaseModel):
    person_id: str
    certno: str | None
    psn_name: str | None
    status: str
    reason: str | None
    deceased: bool
    deceased_on: date | None
    target_groups: list[str]
    hukou_admdvs: str | None
    records: list[RecordView]
    links: list[LinkView]
    history: list[HistoryEntry]


@router.get("/persons/{person_id}", response_model=PersonView)
async def person(
    person_id: str,
    admin: AdminPrincipal,
    ctx: Context,
    reveal: Annotated[
        bool, Query(description=f"clear ID numbers and names (role {PII_ROLE})")
    ] = False,
    history_limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> PersonView:
    """ID numbers and names are masked unless `reveal` and the role allows (audit-logged)."""
    if reveal and not admin.is_bureau(PII_ROLE):
        raise forbidden(f"Clear personal data needs the {PII_ROLE} role.")
    async with ctx.uow() as uow:
        found = await repo.persons(uow.conn, [person_id])
        if person_id not in found:
            into = await repo.merged_into(uow.conn, person_id)
            raise ProblemError(
                404,
                "person_merged" if into else "person_not_found",
                "Person not on file",
                f"{person_id} was merged into {into}." if into else f"No person {person_id}.",
                extra={"merged_into": into} if into else None,
            )
        row = found[person_id]
        records = await repo.person_records(uow.conn, [person_id])
        history = await repo.history(uow.conn, person_id, history_limit)
        if reveal:
            await repo.log_pii_access(uow.conn, admin.subject, person_id, "person_file")
        await uow.commit()
    display = orjson.loads(ctx.vault.decrypt(row["display"])) if row["display"] else {}
    views = []
    for r in records:
        identity = ctx.vault.open(r["pii"])
        views.append(
            RecordView(
                record_id=r["record_id"],
                source=r["source"],
                **identity_view(identity.certno, identity.name, reveal=reveal),
                id_state=r["id_state"],
                gender=r["gender"],
                birth_date=r["birth_date"],
                hukou_admdvs=r["hukou_admdvs"],
                record_date=r["record_date"],
                status=r["status"],
                status_date=r["status_date"],
            )
        )
    return PersonView(
        person_id=person_id,
        **identity_view(display.get("certno", ""), display.get("name", ""), reveal=reveal),
        status=row["status"],
        reason=row["reason"],
        deceased=row["deceased"],
        deceased_on=row["deceased_on"],
        target_groups=list(row["target_groups"]),
        hukou_admdvs=row["hukou_admdvs"],
        records=views,
        links=[
            LinkView(record_id=r["record_id"], person_id=person_id, evidence=r["evidence"])
            for r in records
        ],
        history=[HistoryEntry(at=h["at"], kind=h["kind"], detail=h["detail"]) for h in history],
    )


class SplitIn(RequestModel):
    record_ids: list[str] = Field(min_length=1, max_length=10_000)


class SplitOut(BaseModel):
    person_id: str
    new_person_id: str


@router.post("/admin/persons/{person_id}/split", response_model=SplitOut)
async def split(person_id: str, body: SplitIn, admin: AdminPrincipal, ctx: Context) -> SplitOut:
    """Undo a wrong merge: the records move to a new person that is kept apart from this one."""
    async with ctx.uow() as uow:
        try:
            fresh = await ctx.file.split(uow, person_id, body.record_ids, by=admin.subject)
        except PersonFileError as exc:
            raise problem_of(exc) from exc
        await uow.commit()
    return SplitOut(person_id=person_id, new_person_id=fresh)


class MergeIn(RequestModel):
    person_id: str


class MergeOut(BaseModel):
    person_id: str = Field(description="the surviving (older) person id")


@router.post("/admin/persons/{person_id}/merge", response_model=MergeOut)
async def merge(person_id: str, body: MergeIn, admin: AdminPrincipal, ctx: Context) -> MergeOut:
    """Join two persons a clerk found to be one."""
    async with ctx.uow() as uow:
        try:
            survivor = await ctx.file.merge(uow, person_id, body.person_id, by=admin.subject)
        except PersonFileError as exc:
            raise problem_of(exc) from exc
        await uow.commit()
    return MergeOut(person_id=survivor)
