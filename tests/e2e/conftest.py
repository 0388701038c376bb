"""The five services started as processes, the way `make run` starts them, once per session."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from yibao.embedded import free_port
from yibao.embedded.platform import Platform
from yibao.topology import SERVICES

from tests.conftest import Infra

DEMO_CATALOGUE_PREFIXES = ("8123456", "8123457")


@pytest.fixture(scope="session")
async def platform(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """Start all five services against the session's database server and broker."""
    suffix = uuid.uuid4().hex[:8]
    stack = Platform(
        run_dir=tmp_path_factory.mktemp("platform"),
        ports={spec.name: free_port() for spec in SERVICES},
        database_url=infra.admin_dsn,
        kafka_bootstrap=infra.bootstrap,
        topic_suffix=f".e2e{suffix}",
        database_suffix=f"_e2e{suffix}",
        extra_env={
            "INGEST_DECISION_DEADLINE_S": "3",
            **(
                {}
                if infra.idempotent_producer
                else {
                    env: value
                    for s in SERVICES
                    for env, value in (
                        (f"{s.env_prefix}KAFKA_IDEMPOTENT_PRODUCER", "false"),
                        (f"{s.env_prefix}KAFKA_FETCH_MAX_WAIT_MS", "10"),
                    )
                }
            ),
        },
    )
    try:
        await stack.start_infrastructure()
        await stack.start_services()
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)


@dataclass
class Pharmacy:
    """A registered institution and its API key."""

    code: str
    headers: dict[str, str]


@dataclass
class Client:
    """A POS/HIS-like HTTP client of the running platform."""

    platform: Platform
    http: httpx.AsyncClient
    admin: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.admin = {"Authorization": f"Bearer {self.platform.admin_token}"}

    def url(self, service: str, path: str) -> str:
        return self.platform.services[service].url + path

    async def register(self, kind: str = "pharmacy") -> Pharmacy:
        code = ("P" if kind == "pharmacy" else "H") + uuid.uuid4().hex[:11].upper()
        response = await self.http.post(
            self.url("settlement-ingest", "/v1/admin/institutions"),
            headers=self.admin,
            json={
                "fixmedins_code": code,
                "name": f"测试机构 {code}",
                "kind": kind,
                "level": "retail" if kind == "pharmacy" else "secondary",
                "admdvs": "150302",
            },
        )
        assert response.status_code == 201, response.text
        return Pharmacy(code, {"Authorization": f"Bearer {response.json()['api_key']}"})

    async def load_product(self, *, units: int, split: bool) -> tuple[str, str]:
        """A fresh product with its own 7-digit prefix: (med_list_codg, prefix)."""
        prefix = "8" + str(uuid.uuid4().int)[:6]
        med = "X" + uuid.uuid4().hex[:22].upper()
        response = await self.http.post(
            self.url("tracecode-validator", "/v1/admin/catalogue/products"),
            headers=self.admin,
            json=[
                {
                    "med_list_codg": med,
                    "name": "测试药品",
                    "gtins": [],
                    "trace_prefixes": [{"prefix": prefix, "pack_level": "box"}],
                    "units_per_pack": units,
                    "split_allowed": split,
                    "rx_flag": False,
                }
            ],
        )
        assert response.status_code == 200, response.text
        return med, prefix

    async def stock(self, pharmacy: Pharmacy, med: str, codes: list[str]) -> None:
        response = await self.http.post(
            self.url("settlement-ingest", "/v1/inventory/movements"),
            headers=pharmacy.headers,
            json={
                "fixmedins_code": pharmacy.code,
                "movement_type": "purchase_in",
                "med_list_codg": med,
                "expy_end": "2028-06-30",
                "drugtracinfo": [{"drug_trac_codg": c} for c in codes],
            },
        )
        assert response.status_code == 202, response.text
        await self.wait_state(codes, "in_stock")

    async def history(self, code: str) -> list[dict[str, Any]]:
        response = await self.http.get(
            self.url("tracecode-validator", f"/v1/admin/codes/{code}/history"), headers=self.admin
        )
        assert response.status_code == 200, response.text
        history: list[dict[str, Any]] = response.json()["history"]
        return history

    async def wait_state(self, codes: list[str], state: str, timeout_s: float = 15) -> None:
        """Bounded polling of the registry until every code is in `state`."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        pending = list(codes)
        while pending and asyncio.get_running_loop().time() < deadline:
            histories = await asyncio.gather(*(self.history(c) for c in pending))
            pending = [
                c
                for c, h in zip(pending, histories, strict=True)
                if not h or h[-1]["state"] != state
            ]
            if pending:
                await asyncio.sleep(0.1)
        assert not pending, f"codes not {state}: {pending}"

    async def sell(
        self,
        pharmacy: Pharmacy,
        lines: list[dict[str, Any]],
        *,
        key: str | None = None,
        certno: str = "150302199001011231",
    ) -> httpx.Response:
        headers = dict(pharmacy.headers)
        headers["Idempotency-Key"] = key or str(uuid.uuid4())
        return await self.http.post(
            self.url("settlement-ingest", "/v1/settlements"),
            headers=headers,
            json=sale_body(pharmacy.code, lines, certno=certno),
        )

    async def final(
        self,
        pharmacy: Pharmacy,
        settlement_id: str,
        timeout_s: float = 30,
        *,
        waiting: tuple[str, ...] = ("deciding",),
    ) -> dict[str, Any]:
        """Poll the status URL (bounded) until the status is not one of `waiting`."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        body: dict[str, Any] = {}
        while asyncio.get_running_loop().time() < deadline:
            response = await self.http.get(
                self.url("settlement-ingest", f"/v1/settlements/{settlement_id}"),
                headers=pharmacy.headers,
            )
            body = response.json()
            if body.get("status") not in (None, *waiting):
                return body
            await asyncio.sleep(0.2)
        raise AssertionError(f"{settlement_id} undecided: {body}")


def line(med: str, count: int, codes: list[str], *, split: bool = False) -> dict[str, Any]:
    """A settlement line in the national field names."""
    return {
        "med_list_codg": med,
        "trdn_flag": 1 if split else 0,
        "sel_retn_cnt": count,
        "finl_trns_pric": 10.0,
        "drugtracinfo": [{"drug_trac_codg": c} for c in codes],
    }


def sale_body(code: str, lines: list[dict[str, Any]], *, certno: str) -> dict[str, Any]:
    return {
        "fixmedins_code": code,
        "certno": certno,
        "psn_name": "测试",
        "setl_time": "2026-11-23T10:00:00+08:00",
        "lines": lines,
    }


def codes_for(prefix: str, count: int) -> list[str]:
    """`count` distinct 20-digit codes under a 7-digit prefix."""
    base = uuid.uuid4().int % 10**8
    return [f"{prefix}{base + i:09d}0000" for i in range(count)]


@pytest.fixture
async def client(platform: Platform) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield Client(platform, http)


def service_log(platform: Platform, name: str) -> Path:
    """Where a service's log is, for tests that grep it."""
    return platform.run_dir / f"{name}.log"
