"""The delivery decision: 2xx ends, 410 stops, 429 Retry-After honoured, backoff, horizon."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from disclosure_publisher.domain.retry import (
    BreakerPolicy,
    Outcome,
    RetryPolicy,
    after_results,
    decide,
    parse_retry_after,
)

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(base_s=10, max_delay_s=3600, horizon_s=86_400)


def _decide(
    status: int | None, *, attempts: int = 1, retry_after: str | None = None, first: datetime = NOW
) -> tuple[Outcome, datetime | None]:
    d = decide(
        status_code=status,
        retry_after=retry_after,
        attempts=attempts,
        first_attempt_at=first,
        now=NOW,
        policy=POLICY,
        rng=random.Random(7),
    )
    return d.outcome, d.next_attempt_at


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_any_2xx_is_delivered(status: int) -> None:
    assert _decide(status) == (Outcome.DELIVERED, None)


def test_410_stops_at_once() -> None:
    assert _decide(410)[0] is Outcome.GONE


@pytest.mark.parametrize("status", [None, 400, 404, 500, 502, 503])
def test_other_answers_and_transport_errors_retry_later(status: int | None) -> None:
    outcome, at = _decide(status)
    assert outcome is Outcome.RETRY
    assert at is not None
    assert NOW + timedelta(seconds=5) <= at <= NOW + timedelta(seconds=10)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(1)
    delays = [POLICY.backoff_s(n, rng) for n in range(1, 12)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(3600, 10 * 2 ** (n - 1))
        assert 5 <= delay <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered, not a fixed ladder


def test_429_retry_after_is_the_earliest_next_attempt() -> None:
    outcome, at = _decide(429, retry_after="120")
    assert outcome is Outcome.RETRY
    assert at == NOW + timedelta(seconds=120)


def test_retry_after_as_an_http_date() -> None:
    assert parse_retry_after("Sun, 01 Nov 2026 12:05:00 GMT", NOW) == 300
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_giving_up_when_the_next_attempt_passes_the_horizon() -> None:
    outcome, _ = _decide(500, attempts=20, first=NOW - timedelta(seconds=86_000))
    assert outcome is Outcome.EXHAUSTED


def test_a_retry_after_beyond_the_horizon_gives_up_too() -> None:
    assert _decide(429, retry_after="90000")[0] is Outcome.EXHAUSTED


BREAKER = BreakerPolicy(failures_to_open=3, open_s=60, disable_after_s=3600)


def test_breaker_opens_after_consecutive_failures_and_a_success_closes_it() -> None:
    h = after_results(
        consecutive_failures=1, failing_since=NOW, successes=0, failures=1, now=NOW, policy=BREAKER
    )
    assert (h.consecutive_failures, h.circuit_open_until, h.disable) == (2, None, False)
    h = after_results(
        consecutive_failures=2, failing_since=NOW, successes=0, failures=1, now=NOW, policy=BREAKER
    )
    assert h.circuit_open_until == NOW + timedelta(seconds=60)
    h = after_results(
        consecutive_failures=7, failing_since=NOW, successes=1, failures=3, now=NOW, policy=BREAKER
    )
    assert (h.consecutive_failures, h.failing_since, h.circuit_open_until) == (0, None, None)


def test_an_endpoint_failing_for_the_whole_window_is_disabled() -> None:
    h = after_results(
        consecutive_failures=40,
        failing_since=NOW - timedelta(hours=1),
        successes=0,
        failures=1,
        now=NOW,
        policy=BREAKER,
    )
    assert h.disable
