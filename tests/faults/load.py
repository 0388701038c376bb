"""A steady stream of POS/HIS requests that behaves like a real client under faults.

Every logical request keeps its `Idempotency-Key` across retries, as the contract asks a
POS to do: a connection refused (the service is down), a timeout or a 5xx is retried after
a short pause (or the `Retry-After` the answer gave) until the request is accepted. Every
answer is written down with the time it came, so the reconciliation can tell which 5xx
fell inside an outage and which did not.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from settlement_ingest.schemas import DrgSettlementIn

from tests.e2e.conftest import Pharmacy, line, sale_body

DRG_EXAMPLE: dict[str, Any] = DrgSettlementIn.model_json_schema()["examples"][0]
"""The documented example case; each DRG request gets its own visit id."""
RETRY_PAUSE_S = 0.3
MAX_RETRY_PAUSE_S = 2.0
GIVE_UP_AFTER_S = 120.0


@dataclass
class Answer:
    """One HTTP exchange of a logical request (status 0: no answer at all)."""

    at: float
    status: int
    retry_after: str | None = None


@dataclass
class Request:
    """A logical request and everything that happened to it."""

    kind: str
    key: str
    caller: Pharmacy
    """Who sends it: an institution and its key, or the bureau (code "bureau", admin token)."""
    answers: list[Answer] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    """Every resource id an accepted answer named; more than one is a duplicate."""
    expect: str | None = None
    codes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return bool(self.ids)


@dataclass
class Ledger:
    """What the load sent, and the windows in which the harness broke something."""

    requests: list[Request] = field(default_factory=list)
    outages: list[tuple[str, float, float]] = field(default_factory=list)

    def of(self, kind: str) -> list[Request]:
        return [r for r in self.requests if r.kind == kind]


class Outage:
    """`async with ledger_outage(ledger, "postgres"):` records the window of a fault."""

    def __init__(self, ledger: Ledger, name: str) -> None:
        self._ledger = ledger
        self._name = name
        self._began = 0.0

    async def __aenter__(self) -> None:
        self._began = time.monotonic()

    async def __aexit__(self, *_: object) -> None:
        self._ledger.outages.append((self._name, self._began, time.monotonic()))


@dataclass
class Stream:
    """Sales, stock movements and DRG cases at fixed rates until `stop` is set."""

    http: httpx.AsyncClient
    ingest_url: str
    pharmacies: list[Pharmacy]
    hospital: Pharmacy
    med: str
    stock: dict[str, list[str]]
    """Codes in stock per pharmacy, each to be sold once."""
    fresh_codes: list[str]
    """Codes the movement stream brings into stock (never sold)."""
    ledger: Ledger
    enrollment_url: str
    bureau: Pharmacy
    sales_per_s: float = 8.0
    duplicate_every: int = 10
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self, stop: asyncio.Event) -> None:
        """Offer the three streams open-loop: a slow answer never slows the next request."""
        streams = (
            self._sales(stop),
            self._movements(stop),
            self._drg_cases(stop),
            self._population(stop),
        )
        await asyncio.gather(*streams)
        if self.tasks:
            await asyncio.gather(*self.tasks)

    async def _sales(self, stop: asyncio.Event) -> None:
        sold: list[tuple[Pharmacy, str]] = []
        for n in itertools.count():
            if stop.is_set():
                return
            pharmacy = self.pharmacies[n % len(self.pharmacies)]
            if n % self.duplicate_every == self.duplicate_every - 1 and sold:
                # The same box again at another pharmacy (回流): it must be refused.
                first_seller, code = sold[n % len(sold)]
                pharmacy = next(p for p in self.pharmacies if p is not first_seller)
                self._spawn(self._sell(pharmacy, code, expect="rejected"))
            elif self.stock[pharmacy.code]:
                code = self.stock[pharmacy.code].pop()
                sold.append((pharmacy, code))
                self._spawn(self._sell(pharmacy, code, expect="approved"))
            await asyncio.sleep(1 / self.sales_per_s)

    async def _movements(self, stop: asyncio.Event) -> None:
        while not stop.is_set() and self.fresh_codes:
            pharmacy = self.pharmacies[len(self.fresh_codes) % len(self.pharmacies)]
            codes = [self.fresh_codes.pop() for _ in range(min(5, len(self.fresh_codes)))]
            body = {
                "fixmedins_code": pharmacy.code,
                "movement_type": "purchase_in",
                "med_list_codg": self.med,
                "expy_end": "2028-06-30",
                "drugtracinfo": [{"drug_trac_codg": c} for c in codes],
            }
            request = Request("movement", str(uuid.uuid4()), pharmacy, codes=codes)
            self._spawn(self._submit(request, "/v1/inventory/movements", body, "movement_id"))
            await asyncio.sleep(0.5)

    async def _drg_cases(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            case = f"ZY{uuid.uuid4().hex[:16].upper()}"
            body = {**DRG_EXAMPLE, "fixmedins_code": self.hospital.code, "mdtrt_id": case}
            request = Request("drg", str(uuid.uuid4()), self.hospital)
            self._spawn(self._submit(request, "/v1/drg-settlements", body, "drg_settlement_id"))
            await asyncio.sleep(0.5)

    async def _population(self, stop: asyncio.Event) -> None:
        """Single population records, as a department's feed sends them (bureau API)."""
        for n in itertools.count():
            if stop.is_set():
                return
            record_id = f"F{uuid.uuid4().hex[:15].upper()}"
            body = {
                "record_id": record_id,
                "source": ("insurance", "civil_affairs", "education")[n % 3],
                "psn_name": "测试" + "甲乙丙丁戊己庚辛"[n % 8],
                "gender": "1" if n % 2 else "2",
                "birth_date": f"19{50 + n % 50}-0{1 + n % 9}-1{n % 10}",
                "hukou_admdvs": "150302",
                "record_date": "2026-11-01",
                "status": "insured_local",
            }
            request = Request("population", record_id, self.bureau)
            self._spawn(
                self._submit(
                    request,
                    "/v1/admin/population/record",
                    body,
                    "record_id",
                    base_url=self.enrollment_url,
                )
            )
            await asyncio.sleep(0.5)

    async def _sell(self, pharmacy: Pharmacy, code: str, *, expect: str) -> None:
        request = Request("sale", str(uuid.uuid4()), pharmacy, expect=expect, codes=[code])
        body = sale_body(pharmacy.code, [line(self.med, 1, [code])], certno="150302199001011231")
        await self._submit(request, "/v1/settlements", body, "settlement_id")

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _submit(
        self,
        request: Request,
        path: str,
        body: Any,
        id_field: str,
        *,
        base_url: str | None = None,
    ) -> None:
        """Send until accepted, retrying as a POS would; refusals (4xx) are not retried."""
        self.ledger.requests.append(request)
        headers = {**request.caller.headers, "Idempotency-Key": request.key}
        give_up = time.monotonic() + GIVE_UP_AFTER_S
        while time.monotonic() < give_up:
            try:
                response = await self.http.post(
                    (base_url or self.ingest_url) + path, json=body, headers=headers
                )
            except httpx.TransportError:
                request.answers.append(Answer(time.monotonic(), 0))
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            retry_after = response.headers.get("retry-after")
            request.answers.append(Answer(time.monotonic(), response.status_code, retry_after))
            if response.status_code < 300:
                request.ids.add(str(response.json()[id_field]))
                return
            if response.status_code < 500:
                return
            pause = float(retry_after) if retry_after else RETRY_PAUSE_S
            await asyncio.sleep(min(pause, MAX_RETRY_PAUSE_S))
