"""Whatever sequence of findings, objections, decisions and repairs a subject goes through,
the standing credit stored (and published) equals a full recompute from its ledger, and
the events published are exactly the changes of that standing."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import hypothesis
import pytest
from credit_scorer import objections, repairs
from credit_scorer.standing import CreditBook, evaluate_subjects, today
from hypothesis import strategies as st
from yibao.db import UnitOfWorkFactory, create_pool
from yibao.problems import ProblemError

from tests.conftest import Infra, drop_database, service_database
from tests.integration.credit_world import CREDIT_SOURCE, CreditWorld
from tests.integration.test_credit_casework import CREDIT_DIR

pytestmark = pytest.mark.integration

FINDINGS = (  # (event type, indicator): appealable ones, a capped one, a veto
    ("inspection_finding", "020302"),
    ("complaint", "050101"),
    ("drg_data_quality", "040201"),
    ("fraud_confirmed", "010403"),
    ("commitment_signed", "060101"),
)
Op = tuple[str, int, int, bool]
OPS = st.lists(
    st.tuples(
        st.sampled_from(["find", "find", "object", "decide", "repair"]),
        st.integers(0, len(FINDINGS) - 1),
        st.integers(0, 500),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
async def world(infra: Infra) -> AsyncIterator[CreditWorld]:
    name, dsn = await service_database(infra, CREDIT_DIR)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        yield CreditWorld(pool, UnitOfWorkFactory(pool, source=CREDIT_SOURCE), CreditBook.default())
    finally:
        await pool.close()
        await drop_database(infra.admin_dsn, name)


async def _play(world: CreditWorld, ops: list[Op]) -> str:
    code = await world.subject()
    rows: list[str] = []
    pending: list[str] = []
    for kind, which, days_ago, flag in ops:
        on = today()
        try:
            if kind == "find" or not rows:
                event_type, indicator = FINDINGS[which]
                rows.append(
                    await world.find(
                        code, event_type, indicator=indicator, on=on - timedelta(days=days_ago)
                    )
                )
            elif kind == "object":
                async with world.uow() as uow:
                    record = await objections.file_objection(
                        uow,
                        world.book,
                        subject_id=code,
                        deduction_id=rows[which % len(rows)],
                        source_ref=None,
                        grounds="g",
                        filed_by=code,
                        on=on,
                    )
                    await uow.commit()
                pending.append(record["objection_id"])
            elif kind == "decide" and pending:
                async with world.uow() as uow:
                    await objections.decide(
                        uow,
                        world.book,
                        objection_id=pending.pop(which % len(pending)),
                        accepted=flag,
                        reason="r",
                        reviewer="rev",
                        on=on,
                    )
                    await uow.commit()
            elif kind == "repair":
                target = rows[which % len(rows)]
                rectified = on - timedelta(days=days_ago)
                async with world.uow() as uow:
                    applied = await repairs.apply(
                        uow,
                        world.book,
                        subject_id=code,
                        deduction_id=target,
                        rectified_on=rectified,
                        statement="s",
                        applied_by=code,
                        on=on,
                    )
                    await repairs.review(
                        uow,
                        repair_id=applied["repair_id"],
                        approve=True,
                        reason="r",
                        reviewer="rev",
                        on=on,
                    )
                    await repairs.approve(
                        uow,
                        world.book,
                        repair_id=applied["repair_id"],
                        approve=True,
                        approver="boss",
                        on=on,
                    )
                    await uow.commit()
        except ProblemError:
            pass  # refused requests change nothing; the property covers that too
    return code


@hypothesis.settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(ops=OPS)
async def test_the_stored_standing_is_always_the_full_recompute(
    world: CreditWorld, ops: list[Op]
) -> None:
    code = await _play(world, ops)  # a fresh subject per example: examples never interfere
    async with world.pool.acquire() as conn:
        folded = (await evaluate_subjects(conn, world.book, [code], today(), whole_ledger=True))[
            code
        ]
    stored = await world.standing(code)
    standing = folded.standing
    assert (stored["score"], stored["grade"], sorted(stored["lists"])) == (
        standing.score,
        standing.grade,
        sorted(x.value for x in standing.lists),
    )
    changes = [(e["grade"], e["tier"], e["lists"]) for e in await world.published(code)]
    assert changes, "a graded subject publishes its first grade"
    assert all(a != b for a, b in itertools.pairwise(changes)), (
        "an event was published without a change"
    )
    assert changes[-1] == (stored["grade"], stored["tier"], sorted(stored["lists"]))
