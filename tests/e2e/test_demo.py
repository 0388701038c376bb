"""The `make run` demo, played against the test platform: what a newcomer watches must work."""

from __future__ import annotations

import pytest
from yibao.embedded.demo import run_demo

from tests.e2e.conftest import Client

pytestmark = pytest.mark.e2e


async def test_the_demo_shows_each_outcome_a_newcomer_should_see(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = {name: service.url for name, service in client.platform.services.items()}
    await run_demo(urls, client.platform.admin_token)
    shown = capsys.readouterr().out
    for seen in (
        "sale of 2 boxes, codes scanned                 -> 200 approved",
        "duplicate_sale(reject)",
        "missing_trace_code(reject)",
        "split sale: last 2 tablets                     -> 200 approved",
        "split_overrun(reject)",
        "monthly notice for",
        "suspected violations ['duplicate_sale']",
        "credit: score 100",
        "person files",
    ):
        assert seen in shown, f"{seen!r} not in the demo's output:\n{shown}"
