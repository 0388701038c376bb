"""Monthly runs: build every institution's notice from the projections, in chunks.

A run is a row (`notice_runs`) claimed under a lease, so it survives a restart (another
replica, or this one, resumes it) and two replicas never build the same run. Each chunk is
one transaction holding the (kind, period, version) advisory lock: it skips institutions
that already have this notice, allocates inbox sequence numbers, stores the notices with
their inputs, queues their deliveries and opens a feedback item per suspected violation —
so a notice, its sequence number and its delivery exist together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from yibao.calendar import BUREAU_TZ
from yibao.db import UnitOfWork
from yibao.events.envelope import new_event_id
from yibao.worker import WorkLoop

from disclosure_publisher import feedback_store, notice_store
from disclosure_publisher.domain.drg import CaseCounts, GroupStats, Region, build_region
from disclosure_publisher.domain.notice import (
    AlertRow,
    CreditRow,
    FeedbackRow,
    MonthlyInputs,
    StatusRow,
    UninsuredRow,
    build_monthly,
    inputs_record,
    region_record,
)
from disclosure_publisher.domain.schedule import scheduled_period
from disclosure_publisher.metrics import NOTICES_BUILT
from disclosure_publisher.settings import PublisherSettings

log = logging.getLogger(__name__)
CHUNK = 500


def period_end(period: str) -> datetime:
    """The first instant after a `YYYY-MM` period, on the bureau's clock."""
    year, month = (int(p) for p in period.split("-"))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime(year, month, 1, tzinfo=BUREAU_TZ)


def _group(row: Any) -> GroupStats:
    return GroupStats(
        drg_code=row["drg_code"],
        cases=row["cases"],
        total_cost=row["total_cost"],
        total_los=row["total_los"],
        deaths=row["deaths"],
        fund_paid=row["fund_paid"],
    )


def _costs_by_group(rows: list[Any]) -> dict[str, list[Decimal]]:
    costs: dict[str, list[Decimal]] = {}
    for row in rows:
        costs.setdefault(row["drg_code"], []).append(row["total_cost"])
    return {code: sorted(values) for code, values in sorted(costs.items())}


class RunBuilder:
    """Builds queued runs until stopped (one per replica; runs are claimed, not shared)."""

    def __init__(
        self,
        *,
        uow_factory: Callable[[], UnitOfWork],
        settings: PublisherSettings,
        on_delivery_queued: Callable[[], None],
        lease_s: float = 120.0,
        poll_interval_s: float = 2.0,
        today: Callable[[], date] = lambda: datetime.now(BUREAU_TZ).date(),
    ) -> None:
        self._uow = uow_factory
        self._settings = settings
        self._on_queued = on_delivery_queued
        self._lease_s = lease_s
        self._today = today
        self._loop = WorkLoop("notice builder", idle_s=poll_interval_s)
        self.wake = self._loop.wake

    def stop(self) -> None:
        self._loop.stop()

    async def run(self) -> None:
        """Build runs as they are queued; a failed run resumes from its lease."""
        await self._loop.run(self.run_once)

    async def run_once(self) -> bool:
        """Queue the scheduled run when due, then claim and complete one run."""
        day = self._settings.monthly_schedule_day
        due = None if day is None else scheduled_period(self._today(), day)
        async with self._uow() as uow:
            if due is not None and await notice_store.schedule_run(
                uow.conn, run_id=new_event_id(), period=due
            ):
                log.info("scheduled monthly run queued", extra={"period": due})
            run = await notice_store.claim_run(uow.conn, lease_s=self._lease_s)
            await uow.commit()
        if run is None:
            return False
        period, version, run_id = run["period"], run["version"], run["run_id"]
        async with self._uow() as uow:
            region_rows = await notice_store.region_drg(uow.conn, period)
        region = build_region((_group(r), self._adjustment(r["level"])) for r in region_rows)
        after = ""
        while not self._loop.stopping.is_set():
            async with self._uow() as uow:
                page = await notice_store.recipients_page(uow.conn, after=after, limit=CHUNK)
                if not page:
                    await notice_store.finish_run(uow.conn, run_id)
                    await uow.commit()
                    log.info("notice run done", extra={"run_id": run_id, "period": period})
                    return True
                built = await self._build_chunk(uow, page, run_id, period, version, region)
                await notice_store.extend_run(uow.conn, run_id, lease_s=self._lease_s, built=built)
                await uow.commit()
            after = page[-1]["fixmedins_code"]
            if built:
                self._on_queued()
        return True

    def _adjustment(self, level: str | None) -> float:
        return self._settings.drg_adjustment.get(level or "", 1.0)

    async def _build_chunk(
        self,
        uow: UnitOfWork,
        page: list[Any],
        run_id: str,
        period: str,
        version: int,
        region: Region,
    ) -> int:
        await notice_store.lock_run_scope(uow.conn, "monthly", period, version)
        codes = [r["fixmedins_code"] for r in page]
        done = await notice_store.existing_notices(uow.conn, codes, "monthly", period, version)
        todo = [r for r in page if r["fixmedins_code"] not in done]
        if not todo:
            return 0
        rows = await notice_store.chunk_inputs(
            uow.conn, [r["fixmedins_code"] for r in todo], period, period_end(period)
        )
        by_code: dict[str, dict[str, list[Any]]] = {}
        for name, records in rows.items():
            for record in records:
                by_code.setdefault(record["fixmedins_code"], {}).setdefault(name, []).append(record)
        seqs = await notice_store.next_seqs(uow.conn, [r["fixmedins_code"] for r in todo])
        today = self._today()
        region_info = region_record(region)
        notices: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        for institution in todo:
            code = institution["fixmedins_code"]
            inputs = self._inputs(institution, period, by_code.get(code, {}), today)
            notice_id = new_event_id()
            body = build_monthly(
                inputs, region, notice_id=notice_id, seq=seqs[code], version=version
            )
            notices.append(
                {
                    "notice_id": notice_id,
                    "fixmedins_code": code,
                    "kind": "monthly",
                    "period": period,
                    "version": version,
                    "seq": seqs[code],
                    "run_id": run_id,
                    "body": body,
                    "inputs": inputs_record(inputs, region_info),
                }
            )
            items.extend(
                {
                    "item_id": new_event_id(),
                    "notice_id": notice_id,
                    "fixmedins_code": code,
                    "period": period,
                    "line_ref": v["line"],
                    "classification": f"suspected_violation:{v['rule']}",
                    "due_date": date.fromisoformat(v["respond_by"]),
                }
                for v in body["violations"]
            )
        await notice_store.insert_notices(uow.conn, notices)
        await feedback_store.open_items(
            uow.conn, items, owner=self._settings.feedback_owner, at=datetime.now(UTC)
        )
        NOTICES_BUILT.labels("monthly").inc(len(notices))
        return len(notices)

    def _inputs(
        self, institution: Any, period: str, rows: dict[str, list[Any]], today: date
    ) -> MonthlyInputs:
        counts = rows.get("drg_counts", [])
        credit = rows.get("credit", [])
        budget = self._settings.drg_budget.get(period)
        return MonthlyInputs(
            fixmedins_code=institution["fixmedins_code"],
            name=institution["name"],
            level=institution["level"],
            period=period,
            settlements=[
                StatusRow(r["status"], r["settlements"], r["amount"])
                for r in rows.get("settlements", [])
            ],
            drg_groups=[_group(r) for r in rows.get("drg_groups", [])],
            drg_counts=CaseCounts(
                counts[0]["all_cases"], counts[0]["grouped"], counts[0]["excluded"]
            )
            if counts
            else CaseCounts(0, 0, 0),
            alerts=[
                AlertRow(
                    alert_id=r["alert_id"],
                    rule=r["rule"],
                    severity=r["severity"],
                    settlement_id=r["settlement_id"],
                    drug_trac_codg=r["drug_trac_codg"],
                    confirmed=r["confirmed"],
                    evidence=r["evidence"],
                    occurred_at=r["occurred_at"],
                )
                for r in rows.get("alerts", [])
            ],
            credit=CreditRow(
                grade=credit[0]["grade"],
                score=credit[0]["score"],
                lists=list(credit[0]["lists"]),
                tier=credit[0]["tier"],
                changed_at=credit[0]["changed_at"],
            )
            if credit
            else None,
            open_feedback=[
                FeedbackRow(r["item_id"], r["status"], r["due_date"], r["line_ref"], r["period"])
                for r in rows.get("feedback", [])
            ],
            drg_case_costs=_costs_by_group(rows.get("drg_cases", [])),
            outlier_ratios=self._settings.outlier_ratios(period),
            uninsured=[
                UninsuredRow(r["person_id"], r["reason"], list(r["target_groups"]), r["changed_at"])
                for r in rows.get("uninsured", [])
            ]
            if institution["kind"] == "grassroots"
            else None,
            adjustment=self._adjustment(institution["level"]),
            budget=Decimal(budget) if budget is not None else None,
            response_days=self._settings.feedback_response_days,
            issued_on=today,
        )
