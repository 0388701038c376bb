"""Credit's casework on a real database: objections, repairs, overrides, lists, the clock.

Each test builds subjects in a fresh database and drives the service layer the API and the
consumer use, then reads what was stored and what was staged in the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from credit_scorer import objections, overrides, repairs
from credit_scorer.domain.dates import add_years, next_cycle_start
from credit_scorer.standing import CreditBook, today
from credit_scorer.sweeper import sweep
from yibao.db import UnitOfWorkFactory, create_pool
from yibao.events import (
    DrgSettled,
    FeedbackOverdue,
    InstitutionRegistered,
    TracecodeAlerted,
    topics,
)
from yibao.problems import ProblemError
from yibao.topology import SERVICES, repo_root

from tests.conftest import Infra, drop_database, service_database
from tests.integration.credit_world import CREDIT_SOURCE, CreditWorld, utc

pytestmark = pytest.mark.integration

CREDIT_DIR = next(s for s in SERVICES if s.name == "credit-scorer").directory(repo_root())
PHANTOM_BEDS = "020302"  # inspection_finding, 10 points, appealable


@pytest.fixture
async def world(infra: Infra) -> AsyncIterator[CreditWorld]:
    name, dsn = await service_database(infra, CREDIT_DIR)
    pool = await create_pool(dsn, min_size=1, max_size=4)
    try:
        yield CreditWorld(pool, UnitOfWorkFactory(pool, source=CREDIT_SOURCE), CreditBook.default())
    finally:
        await pool.close()
        await drop_database(infra.admin_dsn, name)


async def _object(
    world: CreditWorld,
    subject_id: str,
    *,
    deduction_id: str | None = None,
    source: str | None = None,
    filed_by: str | None = None,
) -> str:
    async with world.uow() as uow:
        record = await objections.file_objection(
            uow,
            world.book,
            subject_id=subject_id,
            deduction_id=deduction_id,
            source_ref=source,
            grounds="该床位当日有住院记录",
            filed_by=filed_by or subject_id,
            on=today(),
        )
        await uow.commit()
    objection_id: str = record["objection_id"]
    return objection_id


async def _decide(world: CreditWorld, objection_id: str, *, accepted: bool, by: str) -> None:
    async with world.uow() as uow:
        await objections.decide(
            uow,
            world.book,
            objection_id=objection_id,
            accepted=accepted,
            reason="复核结论",
            reviewer=by,
            on=today(),
        )
        await uow.commit()


async def test_an_objection_suspends_and_a_rejection_restores_the_deduction(
    world: CreditWorld,
) -> None:
    code = await world.subject()
    await world.find(code, "inspection_finding", indicator=PHANTOM_BEDS)
    contested = await world.find(code, "inspection_finding", indicator=PHANTOM_BEDS)
    assert (await world.standing(code))["grade"] == "B"

    objection_id = await _object(world, code, deduction_id=contested)
    assert await world.state(contested) == "objected"
    standing = await world.standing(code)
    assert (standing["score"], standing["grade"]) == (Decimal(90), "A")

    await _decide(world, objection_id, accepted=False, by="reviewer-1")
    assert await world.state(contested) == "active"
    assert (await world.standing(code))["grade"] == "B"
    grades = [(e["previous_grade"], e["grade"]) for e in await world.published(code)]
    assert grades == [(None, "A"), ("A", "B"), ("B", "A"), ("A", "B")]
    kinds = await world.file_kinds(code)
    assert {"deduction_added", "objection_filed", "objection_rejected"} <= set(kinds)


async def test_an_accepted_objection_voids_the_deduction_for_good(world: CreditWorld) -> None:
    code = await world.subject()
    contested = await world.find(code, "inspection_finding", indicator=PHANTOM_BEDS)
    objection_id = await _object(world, code, deduction_id=contested)
    await _decide(world, objection_id, accepted=True, by="reviewer-1")
    assert await world.state(contested) == "voided"
    assert (await world.standing(code))["score"] == Decimal(100)
    with pytest.raises(ProblemError) as again:
        await _object(world, code, deduction_id=contested)
    assert (again.value.status, again.value.code) == (409, "not_active")
    with pytest.raises(ProblemError) as twice:
        await _decide(world, objection_id, accepted=False, by="reviewer-2")
    assert (twice.value.status, twice.value.code) == (409, "not_pending")


async def test_objections_are_refused_when_they_cannot_apply(world: CreditWorld) -> None:
    code, other = await world.subject(), await world.subject()
    fraud = await world.find(code, "fraud_confirmed")
    with pytest.raises(ProblemError) as final:
        await _object(world, code, deduction_id=fraud)
    assert (final.value.status, final.value.code) == (422, "not_appealable")

    theirs = await world.find(other, "inspection_finding", indicator=PHANTOM_BEDS)
    with pytest.raises(ProblemError) as foreign:
        await _object(world, code, deduction_id=theirs)
    assert (foreign.value.status, foreign.value.code) == (404, "unknown_deduction")

    late = await world.find(code, "inspection_finding", indicator=PHANTOM_BEDS)
    await world.pool.execute(
        "UPDATE deductions SET notified_on = $2 WHERE deduction_id = $1",
        late,
        today() - timedelta(days=60),
    )
    with pytest.raises(ProblemError) as closed:
        await _object(world, code, deduction_id=late)
    assert (closed.value.status, closed.value.code) == (409, "objection_window_closed")


async def test_the_person_who_filed_an_objection_cannot_decide_it(world: CreditWorld) -> None:
    code = await world.subject()
    contested = await world.find(code, "inspection_finding", indicator=PHANTOM_BEDS)
    objection_id = await _object(world, code, deduction_id=contested, filed_by="clerk-7")
    with pytest.raises(ProblemError) as same:
        await _decide(world, objection_id, accepted=True, by="clerk-7")
    assert (same.value.status, same.value.code) == (403, "same_approver")
    assert await world.state(contested) == "objected"


def _alert(code: str, alert_id: str, *, confirmed: bool = True) -> TracecodeAlerted:
    return TracecodeAlerted(
        alert_id=alert_id,
        fixmedins_code=code,
        rule="duplicate_sale",
        severity="high",
        confirmed=confirmed,
        evidence={"drug_trac_codg": "81234560000000010000"},
        occurred_at=utc(today()),
    )


async def test_an_objection_that_arrives_before_its_deduction_waits_for_it(
    world: CreditWorld,
) -> None:
    code = await world.subject()
    objection_id = await _object(world, code, source="alert:A-1")
    waiting = await world.row(
        "SELECT state, deduction_id FROM objections WHERE objection_id = $1", objection_id
    )
    assert dict(waiting) == {"state": "awaiting_deduction", "deduction_id": None}

    await world.deliver(topics.TRACECODE_ALERTED, _alert(code, "A-1"))
    deduction_id = (await world.rows_by_source(["alert:A-1"]))["alert:A-1"]
    assert await world.state(deduction_id) == "objected"
    pending = await world.row(
        "SELECT state, deduction_id, review_due FROM objections WHERE objection_id = $1",
        objection_id,
    )
    assert (pending["state"], pending["deduction_id"]) == ("pending", deduction_id)
    assert pending["review_due"] > today()
    assert (await world.standing(code))["score"] == Decimal(100), "never counted"
    assert len(await world.published(code)) == 1, "only the first grade: nothing changed"

    await _decide(world, objection_id, accepted=False, by="reviewer-1")
    assert (await world.standing(code))["score"] == Decimal(95)


async def test_a_waiting_objection_to_a_final_deduction_is_refused_when_it_arrives(
    world: CreditWorld,
) -> None:
    code = await world.subject()
    objection_id = await _object(world, code, source="feedback:ITEM-9")
    await world.find(code, "fraud_confirmed", source="feedback:ITEM-9")
    refused = await world.row(
        "SELECT state, decision_reason FROM objections WHERE objection_id = $1", objection_id
    )
    assert refused["state"] == "refused"
    assert refused["decision_reason"].startswith("not_appealable")


async def test_a_redelivered_or_re_emitted_alert_changes_nothing(world: CreditWorld) -> None:
    code = await world.subject()
    alert = _alert(code, "A-2")
    await world.deliver(topics.TRACECODE_ALERTED, alert, event_id="evt-1")
    before = (await world.standing(code), await world.published(code))
    await world.deliver(topics.TRACECODE_ALERTED, alert, event_id="evt-1")
    await world.deliver(topics.TRACECODE_ALERTED, alert)  # the same alert under a new id
    after = (await world.standing(code), await world.published(code))
    assert before == after
    count = await world.pool.fetchval("SELECT count(*) FROM deductions WHERE subject_id = $1", code)
    assert count == 1


async def test_unconfirmed_alerts_join_the_file_without_deducting(world: CreditWorld) -> None:
    code = await world.subject()
    await world.deliver(topics.TRACECODE_ALERTED, _alert(code, "A-3", confirmed=False))
    assert await world.rows_by_source(["alert:A-3"]) == {}
    assert "tracecode_alert" in await world.file_kinds(code)


async def test_a_score_only_move_publishes_nothing(world: CreditWorld) -> None:
    code = await world.subject()
    await world.find(code, "complaint", indicator="050101")
    await world.find(code, "complaint", indicator="050101")
    standing = await world.standing(code)
    assert (standing["score"], standing["grade"]) == (Decimal(96), "A")
    assert [e["grade"] for e in await world.published(code)] == ["A"]


async def _repair(world: CreditWorld, code: str, deduction_id: str, rectified: date) -> str:
    async with world.uow() as uow:
        record = await repairs.apply(
            uow,
            world.book,
            subject_id=code,
            deduction_id=deduction_id,
            rectified_on=rectified,
            statement="已整改并承诺",
            applied_by=code,
            on=today(),
        )
        await uow.commit()
    repair_id: str = record["repair_id"]
    return repair_id


async def test_a_repair_needs_the_waiting_period_a_review_and_a_second_approver(
    world: CreditWorld,
) -> None:
    code = await world.subject()
    old = today() - timedelta(days=300)
    first = await world.find(code, "inspection_finding", indicator=PHANTOM_BEDS, on=old)
    await world.find(code, "inspection_finding", indicator=PHANTOM_BEDS, on=old)
    assert (await world.standing(code))["grade"] == "B"
    repair_id = await _repair(world, code, first, old + timedelta(days=10))
    review_due = await world.pool.fetchval(
        "SELECT review_due FROM repairs WHERE repair_id = $1", repair_id
    )
    assert review_due == world.book.calendar.add_working_days(
        today(), world.book.policy(today()).repair_review_working_days
    )

    async with world.uow() as uow:
        await repairs.review(
            uow, repair_id=repair_id, approve=True, reason="整改到位", reviewer="rev-1", on=today()
        )
        await uow.commit()
    async with world.uow() as uow:
        with pytest.raises(ProblemError) as same:
            await repairs.approve(
                uow, world.book, repair_id=repair_id, approve=True, approver="rev-1", on=today()
            )
    assert (same.value.status, same.value.code) == (403, "same_approver")
    assert await world.state(first) == "active"

    async with world.uow() as uow:
        approved = await repairs.approve(
            uow, world.book, repair_id=repair_id, approve=True, approver="boss-2", on=today()
        )
        await uow.commit()
    assert approved["repaired_from"] == next_cycle_start(today())
    assert await world.state(first) == "repaired"
    assert (await world.standing(code))["grade"] == "B", "repair applies from the next cycle"

    assert await sweep(world.uow, world.book, next_cycle_start(today()), batch_size=10)
    assert (await world.standing(code))["grade"] == "A"
    assert [e["grade"] for e in await world.published(code)][-1] == "A"


async def test_a_repair_before_the_waiting_period_is_refused(world: CreditWorld) -> None:
    code = await world.subject()
    recent = await world.find(code, "inspection_finding", indicator=PHANTOM_BEDS)
    with pytest.raises(ProblemError) as early:
        await _repair(world, code, recent, today())
    assert (early.value.status, early.value.code) == (409, "waiting_period")
    with pytest.raises(ProblemError) as unknown:
        await _repair(world, code, "no-such-row", today())
    assert unknown.value.status == 404


async def test_a_manual_grade_needs_a_second_approver_and_ends_with_the_cycle(
    world: CreditWorld,
) -> None:
    code = await world.subject()
    async with world.uow() as uow:
        with pytest.raises(ProblemError) as same_grade:
            await overrides.request(
                uow,
                world.book,
                subject_id=code,
                grade="A",
                reason="x",
                requested_by="r",
                on=today(),
            )
    assert same_grade.value.code == "no_change"
    async with world.uow() as uow:
        asked = await overrides.request(
            uow,
            world.book,
            subject_id=code,
            grade="C",
            reason="重大舆情, 待查",
            requested_by="rev-1",
            on=today(),
        )
        await uow.commit()
    assert (await world.standing(code))["grade"] == "A", "nothing changes before approval"
    async with world.uow() as uow:
        with pytest.raises(ProblemError) as same:
            await overrides.decide(
                uow,
                world.book,
                override_id=asked["override_id"],
                approve=True,
                approver="rev-1",
                on=today(),
            )
    assert same.value.code == "same_approver"
    async with world.uow() as uow:
        decided = await overrides.decide(
            uow,
            world.book,
            override_id=asked["override_id"],
            approve=True,
            approver="boss-2",
            on=today(),
        )
        await uow.commit()
    assert decided["valid_until"] == next_cycle_start(today())
    standing = await world.standing(code)
    assert (standing["grade"], standing["tier"]) == ("C", "intensified")
    assert [e["grade"] for e in await world.published(code)] == ["A", "C"]
    assert await sweep(world.uow, world.book, next_cycle_start(today()), batch_size=10)
    assert (await world.standing(code))["grade"] == "A"


async def test_fraud_puts_the_subject_on_the_black_list_for_three_years(
    world: CreditWorld,
) -> None:
    code = await world.subject()
    await world.find(code, "fraud_confirmed")
    standing = await world.standing(code)
    assert standing["grade"] == "D"
    assert sorted(standing["lists"]) == ["black", "key_supervision"]
    assert standing["black_until"] == add_years(today(), 3)
    members = await world.pool.fetch(
        "SELECT subject_id FROM credit_standing WHERE lists @> ARRAY['black']"
    )
    assert [m["subject_id"] for m in members] == [code]


async def test_the_clock_grades_a_subject_once_it_has_six_months_of_agreement(
    world: CreditWorld,
) -> None:
    code = await world.subject(months_under_agreement=5)
    standing = await world.standing(code)
    assert standing["grade"] is None
    assert await world.published(code) == []
    graded_on = standing["next_change_on"]
    assert today() < graded_on <= today() + timedelta(days=40)

    assert await sweep(world.uow, world.book, graded_on - timedelta(days=1), batch_size=10) == 0
    assert await sweep(world.uow, world.book, graded_on, batch_size=10) == 1
    assert [e["grade"] for e in await world.published(code)] == ["A"]
    assert await sweep(world.uow, world.book, graded_on, batch_size=10) == 0
    assert [e["grade"] for e in await world.published(code)] == ["A"]


async def test_a_whole_cycle_at_a_puts_the_subject_on_the_red_list(world: CreditWorld) -> None:
    code = await world.subject()
    next_cycle = next_cycle_start(today())
    await sweep(world.uow, world.book, next_cycle, batch_size=10)
    assert "red" not in (await world.standing(code))["lists"], "A since today, not a whole cycle"
    await sweep(world.uow, world.book, next_cycle_start(next_cycle), batch_size=10)
    assert list((await world.standing(code))["lists"]) == ["red"]
    assert [e["lists"] for e in await world.published(code)] == [[], ["red"]]


def _overdue(code: str, item_id: str, status: str) -> FeedbackOverdue:
    return FeedbackOverdue(
        item_id=item_id,
        notice_id="N-1",
        fixmedins_code=code,
        period="2026-10",
        status=status,
        due_date=today() - timedelta(days=3),
        overdue_days=3,
        escalated_at=utc(today()),
    )


async def test_an_overdue_feedback_item_deducts_once_however_often_it_escalates(
    world: CreditWorld,
) -> None:
    code = await world.subject()
    await world.deliver(topics.FEEDBACK_OVERDUE, _overdue(code, "FI-1", "open"))
    await world.deliver(topics.FEEDBACK_OVERDUE, _overdue(code, "FI-1", "rectification"))
    rows = await world.pool.fetch(
        "SELECT indicator_code, source_event_id FROM deductions WHERE subject_id = $1", code
    )
    assert [tuple(r) for r in rows] == [("010302", "feedback:FI-1")]
    assert (await world.standing(code))["score"] == Decimal(98)
    assert (await world.file_kinds(code)).count("feedback_overdue") == 2


async def test_faulty_drg_cases_are_one_data_quality_finding_a_month(world: CreditWorld) -> None:
    code = await world.subject()
    cases = [
        DrgSettled(
            drg_settlement_id=f"D-{n}",
            fixmedins_code=code,
            psn_key="p",
            drg_code=None,
            grouped=n == 2,
            weight=None,
            los_days=5,
            total_cost=Decimal(8000),
            fund_paid=Decimal(5000),
            discharge_status="improved",
            discharge_date=today() - timedelta(days=2),
            settled_at=utc(today()),
        )
        for n in range(3)
    ]
    fine = cases[0].model_copy(
        update={
            "drg_settlement_id": "D-ok",
            "grouped": True,
            "drg_code": "GB19",
            "weight": Decimal("0.8"),
        }
    )
    await world.deliver(topics.DRG_SETTLED, fine, *cases)
    rows = await world.pool.fetch(
        "SELECT indicator_code, evidence FROM deductions WHERE subject_id = $1", code
    )
    assert [(r["indicator_code"], r["evidence"]["first_case"]) for r in rows] == [("040201", "D-0")]
    assert (await world.file_kinds(code)).count("drg_data_quality") == 3


async def test_a_subject_first_seen_in_an_event_takes_its_registration_date_later(
    world: CreditWorld,
) -> None:
    code = "P" + uuid.uuid4().hex[:11].upper()
    await world.deliver(topics.TRACECODE_ALERTED, _alert(code, "A-9"))
    seen = await world.row(
        "SELECT subject_type, agreement_from, source FROM credit_subjects WHERE subject_id = $1",
        code,
    )
    assert (seen["source"], seen["agreement_from"]) == ("event", today())
    assert (await world.standing(code))["grade"] is None, "no agreement on file: not graded"
    registered_at = utc(today() - timedelta(days=400))
    await world.deliver(
        topics.INSTITUTION_REGISTERED,
        InstitutionRegistered(
            fixmedins_code=code,
            name="某药房",
            kind="pharmacy",
            level="retail",
            admdvs="150302",
            api_key_hash="0" * 64,
            registered_at=registered_at,
        ),
    )
    known = await world.row(
        "SELECT subject_type, agreement_from, source FROM credit_subjects WHERE subject_id = $1",
        code,
    )
    assert tuple(known) == ("pharmacy", registered_at.date(), "registration")
    standing = await world.standing(code)
    assert (standing["score"], standing["grade"]) == (Decimal(95), "A")
    assert [e["subject_type"] for e in await world.published(code)] == ["pharmacy"]
