"""Events credit consumes: every decision, alert, faulty DRG case and overdue feedback item
lands in the subject's file; the ones the indicator tree reacts to are also deductions.

The high-volume topics are `Batched`: a consumer batch is one transaction whose ledger
inserts and re-folds are one statement each for all its subjects. Redelivery is a no-op
twice over: the consumer's processed-events record, and the ledger's unique source key
(`alert:<id>`, `feedback:<item>`, …) for the same fact re-emitted under a new event id.
"""

from __future__ import annotations

from yibao.bus.consumer import AnyHandler, Batched
from yibao.calendar import bureau_date
from yibao.db import UnitOfWork
from yibao.events import (
    DrgSettled,
    Envelope,
    FeedbackOverdue,
    InstitutionRegistered,
    SettlementDecided,
    TracecodeAlerted,
    topics,
)
from yibao.institutions import handle_institution_registered

from credit_scorer import repository as repo
from credit_scorer.domain.sources import (
    Finding,
    alert_finding,
    drg_finding,
    drg_quality_issue,
    feedback_finding,
)
from credit_scorer.findings import add_findings
from credit_scorer.standing import CreditBook, refresh, today


async def handle_settlement_decided(envelopes: list[Envelope], uow: UnitOfWork) -> None:
    """Keep decisions with hits: they are the evidence behind later deductions."""
    entries = []
    for envelope in envelopes:
        event = envelope.data
        assert isinstance(event, SettlementDecided)
        if event.hits:
            entries.append(
                repo.FileEntry(
                    event_id=envelope.id,
                    subject_id=event.fixmedins_code,
                    kind=f"settlement_{event.status}",
                    occurred_at=event.decided_at,
                    detail={
                        "settlement_id": event.settlement_id,
                        "rules": [h.rule for h in event.hits],
                    },
                )
            )
    await repo.record_events(uow.conn, entries)


def build_handlers(book: CreditBook) -> dict[str, AnyHandler]:
    """Bind the handlers to the indicator tree and policies in force."""

    async def on_registered(envelope: Envelope, uow: UnitOfWork) -> None:
        """Institutions are credit subjects from their registration (the agreement date)."""
        await handle_institution_registered(envelope, uow)
        event = envelope.data
        assert isinstance(event, InstitutionRegistered)
        await repo.upsert_registered(
            uow.conn,
            event.fixmedins_code,
            "hospital" if event.kind == "hospital" else "pharmacy",
            bureau_date(event.registered_at),
            event.name,
        )
        await refresh(uow, book, [event.fixmedins_code], today())

    async def on_alerted(envelopes: list[Envelope], uow: UnitOfWork) -> None:
        """Every alert joins the file; a confirmed one is also a deduction."""
        entries, findings = [], []
        for envelope in envelopes:
            event = envelope.data
            assert isinstance(event, TracecodeAlerted)
            entries.append(
                repo.FileEntry(
                    event_id=envelope.id,
                    subject_id=event.fixmedins_code,
                    kind="tracecode_alert",
                    occurred_at=event.occurred_at,
                    detail={
                        "alert_id": event.alert_id,
                        "rule": event.rule,
                        "severity": event.severity,
                        "confirmed": event.confirmed,
                    },
                )
            )
            finding = alert_finding(event)
            if finding is not None:
                findings.append(finding)
        await repo.record_events(uow.conn, entries)
        if findings:
            await add_findings(uow, book, findings, on=today(), strict=False)

    async def on_drg_settled(envelopes: list[Envelope], uow: UnitOfWork) -> None:
        """A case with faulty front-page data is a data-quality finding (one per month)."""
        entries, findings = [], []
        for envelope in envelopes:
            event = envelope.data
            assert isinstance(event, DrgSettled)
            issue = drg_quality_issue(event)
            if issue is None:
                continue
            finding = drg_finding(event, issue)
            findings.append(finding)
            entries.append(
                repo.FileEntry(
                    event_id=envelope.id,
                    subject_id=event.fixmedins_code,
                    kind="drg_data_quality",
                    occurred_at=event.settled_at,
                    detail={
                        "drg_settlement_id": event.drg_settlement_id,
                        "issue": issue,
                        "source": finding.source_ref,
                    },
                )
            )
        await repo.record_events(uow.conn, entries)
        if findings:
            await add_findings(uow, book, findings, on=today(), strict=False)

    async def on_feedback_overdue(envelopes: list[Envelope], uow: UnitOfWork) -> None:
        """An overdue feedback item deducts once per item, however often it escalates."""
        findings: list[Finding] = []
        entries = []
        for envelope in envelopes:
            event = envelope.data
            assert isinstance(event, FeedbackOverdue)
            finding = feedback_finding(event)
            findings.append(finding)
            entries.append(
                repo.FileEntry(
                    event_id=envelope.id,
                    subject_id=event.fixmedins_code,
                    kind="feedback_overdue",
                    occurred_at=event.escalated_at,
                    detail=dict(finding.evidence),
                )
            )
        await repo.record_events(uow.conn, entries)
        await add_findings(uow, book, findings, on=today(), strict=False)

    return {
        topics.INSTITUTION_REGISTERED: on_registered,
        topics.SETTLEMENT_DECIDED: Batched(handle_settlement_decided),
        topics.TRACECODE_ALERTED: Batched(on_alerted),
        topics.DRG_SETTLED: Batched(on_drg_settled),
        topics.FEEDBACK_OVERDUE: Batched(on_feedback_overdue),
    }
