"""Quarterly and annual reports: second approver, immutable versions, notices for everyone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from yibao.auth import issue_bureau_jwt
from yibao.topology import repo_root

from tests.conftest import Infra, drop_database, service_database
from tests.integration.publisher_harness import (
    JWT_SECRET,
    Publisher,
    running_publisher,
    settings_for,
)

pytestmark = pytest.mark.integration
SERVICE_DIR: Path = repo_root() / "services" / "disclosure-publisher"


def bureau(subject: str, *roles: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_bureau_jwt(subject, roles, secret=JWT_SECRET)}


@pytest.fixture
async def publisher(infra: Infra, topic_suffix: str) -> AsyncIterator[Publisher]:
    name, dsn = await service_database(infra, SERVICE_DIR)
    async with running_publisher(settings_for(infra, dsn, topic_suffix)) as running:
        yield running
    await drop_database(infra.admin_dsn, name)


async def _spend(publisher: Publisher, code: str, period: str, amount: int) -> None:
    await publisher.db.execute(
        "INSERT INTO settlement_month_stats VALUES ($1, $2, 'approved', 1, $3)",
        code,
        period,
        Decimal(amount),
    )


async def test_quarterly_needs_a_second_approver_and_reaches_every_inbox(
    publisher: Publisher,
) -> None:
    grow, grow_key = await publisher.institution()
    flat, flat_key = await publisher.institution()
    await _spend(publisher, grow, "2026-04", 100)
    await _spend(publisher, grow, "2026-08", 130)  # +30 % on Q2: red
    await _spend(publisher, flat, "2026-05", 100)
    await _spend(publisher, flat, "2026-09", 105)  # +5 %: green
    author, approver = bureau("li", "admin"), bureau("wang", "approver")
    draft = await publisher.http.post(
        "/v1/admin/reports/quarterly", headers=author, json={"quarter": "2026-Q3"}
    )
    assert draft.status_code == 201, draft.text
    report = draft.json()
    lights = {i["fixmedins_code"]: i["warning"] for i in report["body"]["institutions"]}
    assert (lights[grow], lights[flat]) == ("red", "green")
    assert report["body"]["thresholds"]["fund_growth"]["red"] == 0.2

    own = await publisher.http.post(
        f"/v1/admin/reports/{report['report_id']}/publish", headers=author
    )
    assert (own.status_code, own.json()["code"]) == (409, "second_approver_required")
    no_role = await publisher.http.post(
        f"/v1/admin/reports/{report['report_id']}/publish", headers=bureau("zhao", "inspector")
    )
    assert no_role.status_code == 403
    published = await publisher.http.post(
        f"/v1/admin/reports/{report['report_id']}/publish", headers=approver
    )
    assert published.status_code == 200, published.text
    assert (published.json()["state"], published.json()["published_by"]) == ("published", "wang")
    again = await publisher.http.post(
        f"/v1/admin/reports/{report['report_id']}/publish", headers=approver
    )
    assert (again.status_code, again.json()["code"]) == (409, "report_published")

    [item] = (await publisher.http.get("/v1/inbox", headers=grow_key)).json()["items"]
    assert (item["kind"], item["period"]) == ("quarterly", "2026-Q3")
    assert item["analysis"]["warning"] == "red"
    assert item["analysis"]["fixmedins_code"] == grow
    [other] = (await publisher.http.get("/v1/inbox", headers=flat_key)).json()["items"]
    assert other["analysis"]["fixmedins_code"] == flat

    with pytest.raises(asyncpg.exceptions.IntegrityConstraintViolationError):
        await publisher.db.execute(
            "UPDATE reports SET body = '{}' WHERE report_id = $1", report["report_id"]
        )
    with pytest.raises(asyncpg.exceptions.IntegrityConstraintViolationError):
        await publisher.db.execute("DELETE FROM reports WHERE report_id = $1", report["report_id"])

    silent = await publisher.http.post(
        "/v1/admin/reports/quarterly", headers=author, json={"quarter": "2026-Q3"}
    )
    assert (silent.status_code, silent.json()["code"]) == (422, "changelog_required")
    fixed = await publisher.http.post(
        "/v1/admin/reports/quarterly",
        headers=author,
        json={"quarter": "2026-Q3", "changelog": "8 月数据补报"},
    )
    assert (fixed.json()["version"], fixed.json()["state"]) == (2, "draft")


async def test_annual_report_carries_the_bureaus_fund_figures_and_checks(
    publisher: Publisher,
) -> None:
    _, key = await publisher.institution()
    fund = {
        "income": "1200000.00",
        "expenditure": "1100000.00",
        "balance": "350000.00",
        "opening_balance": "240000.00",
        "annual_clearing": {"settled_institutions": 312},
    }
    draft = await publisher.http.post(
        "/v1/admin/reports/annual", headers=bureau("li", "admin"), json={"year": 2026, "fund": fund}
    )
    assert draft.status_code == 201, draft.text
    body = draft.json()["body"]
    assert body["checks"] == [
        "opening + income − expenditure = 340000.00, not the balance 350000.00"
    ]
    refused = await publisher.http.post(
        "/v1/admin/reports/annual",
        headers={"Authorization": key["Authorization"]},
        json={"year": 2026, "fund": fund},
    )
    assert refused.status_code == 401
    done = await publisher.http.post(
        f"/v1/admin/reports/{draft.json()['report_id']}/publish", headers=publisher.admin
    )
    assert done.status_code == 200
    [item] = (await publisher.http.get("/v1/inbox", headers=key)).json()["items"]
    assert (item["kind"], item["period"]) == ("annual", "2026")
    assert item["report"]["fund"]["income"] == "1200000.00"
