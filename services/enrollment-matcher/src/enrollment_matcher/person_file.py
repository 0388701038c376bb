"""The person file's commands: link records, keep persons' status, split and merge.

Every command runs inside the caller's unit of work and takes the matching lock first, so
the bulk worker, single-record requests and the consumer can run on any replica. Events go
out through the outbox only when a person's status, reason, death or ID keys really change.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import orjson
from yibao.db import UnitOfWork
from yibao.events import EnrollmentStatusChanged
from yibao.events.envelope import new_event_id

from enrollment_matcher import repository as repo
from enrollment_matcher.domain import text
from enrollment_matcher.domain.ids import IdState, repair_suggestions
from enrollment_matcher.domain.linker import (
    MAX_BLOCK,
    Linker,
    Outcome,
    Person,
    Thresholds,
    blocking_keys,
)
from enrollment_matcher.domain.records import Record
from enrollment_matcher.domain.scoring import Weights
from enrollment_matcher.domain.status import Fact, Standing, resolve
from enrollment_matcher.domain.training import fit
from enrollment_matcher.metrics import PERSONS_MERGED, RECORDS_LINKED, REVIEWS_QUEUED
from enrollment_matcher.vault import Identity, Vault


class PersonFileError(Exception):
    """A command that the file's state refuses (unknown person, a split of nothing)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def content_hash(record: Record) -> str:
    """What makes a redelivered record a no-op: same id and same normalised content."""
    return hashlib.sha256(repr(record).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class FileConfig:
    """Policy of the person file."""

    thresholds: Thresholds
    local_prefix: str


class PersonFile:
    """Links records into persons and keeps every person's standing current."""

    def __init__(
        self,
        vault: Vault,
        config: FileConfig,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.vault = vault
        self.config = config
        self.clock = clock
        self._weights: tuple[int, Weights] | None = None

    async def weights(self, uow: UnitOfWork, version: int) -> Weights:
        """The weights of `version` (0: none fitted yet, so only ID numbers link)."""
        if self._weights is not None and self._weights[0] == version:
            return self._weights[1]
        stored = await repo.weights(uow.conn, version) if version else None
        weights = Weights.from_json(stored) if stored else fit([])
        self._weights = (version, weights)
        return weights

    async def refit(self, uow: UnitOfWork, sample: Sequence[Record]) -> Weights:
        """Estimate weights on a sample (a bulk load's first rows) and keep them."""
        previous = await self.weights(uow, await repo.lock_matching(uow.conn))
        weights = fit(sample, previous=previous)
        if weights is not previous:
            await repo.save_weights(uow.conn, weights.to_json())
        return weights

    def _linker(self, weights: Weights) -> Linker:
        return Linker(
            weights,
            thresholds=self.config.thresholds,
            new_person_id=new_event_id,
            id_key=self.vault.id_key,
            index_key=self.vault.block_key,
        )

    def _record(self, row: asyncpg.Record) -> Record:
        identity = self.vault.open(row["pii"])
        return Record(
            record_id=row["record_id"],
            source=row["source"],
            certno=identity.certno,
            id_state=IdState(row["id_state"]),
            id_consistent=row["id_consistent"],
            name=identity.name,
            name_pinyin=text.pinyin(identity.name),
            gender=row["gender"],
            birth_date=row["birth_date"],
            phone=identity.phone,
            hukou_admdvs=row["hukou_admdvs"] or "",
            address=identity.address,
            record_date=row["record_date"],
            status=row["status"] or "",
            status_date=row["status_date"],
            repair_hints=tuple(repair_suggestions(identity.certno))
            if row["id_state"] == IdState.INVALID
            else (),
        )

    async def ingest(self, uow: UnitOfWork, records: Sequence[Record]) -> list[Outcome]:
        """Link new records (a redelivered identical record is a no-op; a changed one relinks)."""
        conn = uow.conn
        version = await repo.lock_matching(conn)
        latest: dict[str, Record] = {r.record_id: r for r in records}
        hashes = {rid: content_hash(r) for rid, r in latest.items()}
        on_file = await repo.existing_hashes(conn, list(latest))
        fresh = [r for rid, r in latest.items() if on_file.get(rid) != hashes[rid]]
        RECORDS_LINKED.labels("duplicate").inc(len(latest) - len(fresh))
        if not fresh:
            return []
        linker = self._linker(await self.weights(uow, version))
        replaced = [r.record_id for r in fresh if r.record_id in on_file]
        old_keys: list[tuple[str, str]] = []
        if replaced:
            for row in await repo.records_by_id(conn, replaced):
                old = self._record(row)
                old_keys.extend(
                    (self.vault.block_key(k), old.record_id) for k in blocking_keys(old)
                )
        touched = await repo.remove_records(conn, replaced, old_keys)
        keys = {r.record_id: linker.keys_of(r) for r in fresh}
        wanted = sorted({k for ks in keys.values() for k in ks})
        for row in await repo.candidates(conn, wanted, MAX_BLOCK):
            person = Person(row["person_id"], id_keys=set(row["psn_keys"]), apart=set(row["apart"]))
            record = linker.records.get(row["record_id"]) or self._record(row)
            linker.seed(record, person, [row["key"]])
        outcomes = [linker.add(r) for r in fresh]

        moves: dict[str, str] = {}
        for outcome in outcomes:
            for gone in outcome.merged:
                moves[gone] = linker.person_of[outcome.record_id]
        for gone, survivor in list(moves.items()):
            while survivor in moves:  # merged again later in the same batch
                survivor = moves[survivor]
            moves[gone] = survivor
        await repo.move_records(conn, moves)
        await repo.add_reviews(
            conn,
            [
                (
                    o.review.record_id,
                    linker.person_of[o.review.record_id]
                    if o.review.linked
                    else moves.get(o.review.person_id, o.review.person_id),
                    o.review.probability,
                    o.review.linked,
                    o.review.evidence,
                )
                for o in outcomes
                if o.review is not None
            ],
        )
        history: list[tuple[str, str, dict[str, Any]]] = []
        # A link's evidence stays on its record (the file's `links`); the history keeps what
        # happened to the person: created, merged, split, and each change of standing.
        for record, outcome in zip(fresh, outcomes, strict=True):
            if outcome.created:
                history.append((outcome.person_id, "created", {"record_id": record.record_id}))
        for gone, survivor in moves.items():
            history.append((survivor, "merged", {"absorbed": gone}))
            history.append((gone, "merged_into", {"into": survivor}))
        await repo.insert_links(
            conn,
            [
                self._row(r, linker.person_of[r.record_id], hashes[r.record_id], o.evidence)
                for r, o in zip(fresh, outcomes, strict=True)
            ],
            [(k, rid) for rid, ks in keys.items() for k in ks],
            history,
        )
        for outcome in outcomes:
            RECORDS_LINKED.labels(str(outcome.evidence["rule"])).inc()
        REVIEWS_QUEUED.inc(sum(1 for o in outcomes if o.review is not None))
        PERSONS_MERGED.inc(len(moves))
        affected = {linker.person_of[r.record_id] for r in fresh} | set(moves.values())
        affected |= {moves.get(p, p) for p in touched}
        await self.refresh(uow, affected, moves=moves)
        return outcomes

    def _row(
        self, r: Record, person_id: str, digest: str, evidence: dict[str, object]
    ) -> tuple[Any, ...]:
        return (
            r.record_id,
            r.source,
            person_id,
            digest,
            self.vault.seal(Identity(r.certno, r.name, r.phone, r.address)),
            self.vault.id_key(r.linking_id) if r.linking_id else None,
            r.id_state.value,
            r.id_consistent,
            r.gender,
            r.birth_date,
            r.hukou_admdvs or None,
            r.record_date,
            r.status or None,
            r.status_date,
            evidence,
        )

    async def refresh(
        self, uow: UnitOfWork, person_ids: Iterable[str], *, moves: dict[str, str] | None = None
    ) -> None:
        """Recompute persons from all their records; emit only real changes.

        `moves` maps persons merged away to their survivors, which inherit what kept the
        absorbed ones apart from others.
        """
        conn = uow.conn
        moves = moves or {}
        ids = sorted(set(person_ids) - set(moves))
        before = await repo.persons(conn, [*ids, *moves])
        rows = await repo.person_records(conn, ids)
        by_person: dict[str, list[asyncpg.Record]] = {}
        for row in rows:
            by_person.setdefault(row["person_id"], []).append(row)
        apart = {p: set(before[p]["apart"]) if p in before else set() for p in ids}
        for gone, survivor in moves.items():
            if gone in before and survivor in apart:
                apart[survivor] |= set(before[gone]["apart"])
        upserts: list[tuple[Any, ...]] = []
        history: list[tuple[str, str, dict[str, Any]]] = []
        empty: list[str] = [p for p in ids if p not in by_person]
        today = self.clock().date()
        for person_id in ids:
            records = by_person.get(person_id)
            if not records:
                continue
            standing, hukou, display = self._standing(records, today)
            keys = sorted({r["id_key"] for r in records if r["id_key"]})
            upserts.append(
                (
                    person_id,
                    standing.status,
                    standing.reason,
                    standing.deceased,
                    standing.deceased_on,
                    ",".join(standing.target_groups),
                    ",".join(keys),
                    ",".join(sorted(apart[person_id] - set(moves))),
                    hukou or None,
                    display,
                    len(records),
                )
            )
            change = self._emit_if_changed(
                uow, person_id, before.get(person_id), standing, keys, hukou
            )
            if change is not None:
                history.append((person_id, "status", change))
        await repo.upsert_persons(conn, upserts)
        await repo.add_history(conn, history)
        await repo.delete_persons(conn, [*moves, *empty])

    def _standing(
        self, records: Sequence[asyncpg.Record], today: date
    ) -> tuple[Standing, str, str]:
        identities = [self.vault.open(r["pii"]) for r in records]
        newest = sorted(
            range(len(records)), key=lambda i: records[i]["record_date"] or date.min, reverse=True
        )
        hukou = next((records[i]["hukou_admdvs"] for i in newest if records[i]["hukou_admdvs"]), "")
        address = next((identities[i].address for i in newest if identities[i].address), "")
        births = Counter(r["birth_date"] for r in records if r["birth_date"] and r["id_consistent"])
        names = Counter(i.name for i in identities if i.name)
        certnos = Counter(
            identity.certno for identity, r in zip(identities, records, strict=True) if r["id_key"]
        )
        standing = resolve(
            (
                Fact(r["source"], r["status"] or "", r["status_date"] or r["record_date"])
                for r in records
            ),
            as_of=today,
            birth_date=births.most_common(1)[0][0] if births else None,
            hukou_admdvs=hukou,
            address=address,
            local_prefix=self.config.local_prefix,
        )
        display = self.vault.encrypt(
            orjson.dumps(
                {
                    "name": names.most_common(1)[0][0] if names else "",
                    "certno": certnos.most_common(1)[0][0] if certnos else "",
                }
            ).decode()
        )
        return standing, hukou, display

    def _emit_if_changed(
        self,
        uow: UnitOfWork,
        person_id: str,
        before: asyncpg.Record | None,
        standing: Standing,
        keys: list[str],
        hukou: str,
    ) -> dict[str, Any] | None:
        """Emit when standing, ID keys or registration changed; a standing change is returned
        for the person's status history."""
        was = (
            (before["status"], before["reason"], before["deceased"]) if before is not None else None
        )
        now = (standing.status, standing.reason, standing.deceased)
        if (
            was == now
            and before is not None
            and (
                sorted(before["psn_keys"]),
                before["hukou_admdvs"] or "",
            )
            == (keys, hukou)
        ):
            return None
        uow.emit(
            EnrollmentStatusChanged(
                person_id=person_id,
                psn_keys=keys,
                status=standing.status,
                previous_status=before["status"] if before is not None else None,
                reason=standing.reason,
                deceased=standing.deceased,
                hukou_admdvs=hukou or None,
                target_groups=list(standing.target_groups),
                changed_at=self.clock(),
            )
        )
        if was == now:
            return None
        return {
            "from": was[0] if was else None,
            "status": standing.status,
            "reason": standing.reason,
            "deceased": standing.deceased,
            "deceased_on": standing.deceased_on.isoformat() if standing.deceased_on else None,
        }

    async def split(
        self, uow: UnitOfWork, person_id: str, record_ids: Sequence[str], *, by: str
    ) -> str:
        """Move records out of a wrong merge into a new person kept apart from the old one."""
        conn = uow.conn
        await repo.lock_matching(conn)
        rows = await repo.person_records(conn, [person_id])
        held = {r["record_id"] for r in rows}
        if not held:
            raise PersonFileError("person_not_found", f"No person {person_id}.")
        moving = set(record_ids)
        if not moving <= held:
            raise PersonFileError(
                "record_not_in_person", f"Records {sorted(moving - held)} are not in {person_id}."
            )
        if not moving or moving == held:
            raise PersonFileError(
                "split_leaves_nothing", "A split must leave records on both sides."
            )
        fresh = new_event_id()
        await repo.assign_records(conn, sorted(moving), fresh)
        before = await repo.persons(conn, [person_id])
        old_apart = set(before[person_id]["apart"]) | {fresh}
        await repo.upsert_persons(
            conn, [self._placeholder(person_id, old_apart), self._placeholder(fresh, {person_id})]
        )
        await repo.add_history(
            conn,
            [
                (person_id, "split", {"moved": sorted(moving), "to": fresh, "by": by}),
                (fresh, "split_from", {"records": sorted(moving), "from": person_id, "by": by}),
            ],
        )
        await self.refresh(uow, [person_id, fresh])
        return fresh

    def _placeholder(self, person_id: str, apart: set[str]) -> tuple[Any, ...]:
        """A person row to hang `apart` on; `refresh` fills in the rest at once."""
        return (
            person_id,
            "uninsured",
            None,
            False,
            None,
            "",
            "",
            ",".join(sorted(apart)),
            None,
            None,
            0,
        )

    async def merge(self, uow: UnitOfWork, person_id: str, other: str, *, by: str) -> str:
        """Join two persons a clerk found to be one; the older id survives."""
        conn = uow.conn
        await repo.lock_matching(conn)
        found = await repo.persons(conn, [person_id, other])
        missing = sorted({person_id, other} - set(found))
        if missing or person_id == other:
            raise PersonFileError("person_not_found", f"No persons {missing or [other]} to merge.")
        survivor, gone = sorted((person_id, other))
        await repo.move_records(conn, {gone: survivor})
        if gone in found[survivor]["apart"] or survivor in found[gone]["apart"]:
            # A clerk's merge overrides an earlier split: drop the constraint between them.
            apart = (set(found[survivor]["apart"]) | set(found[gone]["apart"])) - {gone, survivor}
            await repo.upsert_persons(conn, [self._placeholder(survivor, apart)])
        await repo.add_history(
            conn,
            [
                (survivor, "merged", {"absorbed": gone, "by": by}),
                (gone, "merged_into", {"into": survivor, "by": by}),
            ],
        )
        await self.refresh(uow, [survivor], moves={gone: survivor})
        return survivor

    async def decide_review(
        self, uow: UnitOfWork, review_id: int, *, link: bool, by: str
    ) -> dict[str, Any]:
        """A clerk's answer to a review item: link the record to the person, or keep it apart."""
        conn = uow.conn
        item = await repo.review(conn, review_id)
        if item is None or item["state"] != "open":
            raise PersonFileError("review_not_open", f"Review {review_id} is not open.")
        current = await repo.record_person(conn, item["record_id"])
        if current is None:
            raise PersonFileError("record_not_found", f"Record {item['record_id']} is gone.")
        person = current
        if link and current != item["person_id"]:
            person = await self.merge(uow, current, item["person_id"], by=by)
        elif not link and current == item["person_id"]:
            rows = await repo.person_records(conn, [current])
            if len(rows) > 1:
                person = await self.split(uow, current, [item["record_id"]], by=by)
        await repo.close_review(conn, review_id, "linked" if link else "separated", by)
        return {"review_id": review_id, "record_id": item["record_id"], "person_id": person}
