"""What to do after one delivery attempt: done, retry when, or give up — a pure decision.

Exponential backoff with full jitter (AWS's "full jitter": a uniform draw below the capped
exponential) spreads a recovered receiver's backlog instead of hammering it in waves. A
`Retry-After` on 429/503 is honoured as the earliest next attempt. 410 Gone means the
receiver withdrew the endpoint: stop and disable. Retrying ends when the next attempt would
fall beyond the horizon measured from the first attempt.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff parameters (PUBLISHER_DELIVERY_* settings)."""

    base_s: float = 5.0
    max_delay_s: float = 6 * 3600.0
    horizon_s: float = 3 * 24 * 3600.0
    """Stripe retries for up to 3 days; after that the inbox is the notice's only path."""

    def backoff_s(self, attempts: int, rng: random.Random) -> float:
        """Delay before attempt `attempts + 1`: uniform in [base/2, min(max, base·2^(n-1))]."""
        ceiling = min(self.max_delay_s, self.base_s * 2 ** max(0, attempts - 1))
        return rng.uniform(min(self.base_s / 2, ceiling), ceiling)


class Outcome(enum.StrEnum):
    """The fate of a notice after one attempt."""

    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome, and for a retry when the next attempt is due."""

    outcome: Outcome
    next_attempt_at: datetime | None = None
    reason: str | None = None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from `Retry-After` (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def decide(
    *,
    status_code: int | None,
    retry_after: str | None,
    attempts: int,
    first_attempt_at: datetime,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> Decision:
    """Classify one attempt (`attempts` counts it); `status_code` None is a transport error."""
    if status_code is not None and 200 <= status_code < 300:
        return Decision(Outcome.DELIVERED)
    if status_code == 410:
        return Decision(Outcome.GONE, reason="endpoint_gone")
    delay = policy.backoff_s(attempts, rng)
    if status_code in (429, 503):
        asked = parse_retry_after(retry_after, now)
        if asked is not None:
            delay = max(delay, asked)
    next_at = now + timedelta(seconds=delay)
    if next_at > first_attempt_at + timedelta(seconds=policy.horizon_s):
        return Decision(Outcome.EXHAUSTED, reason="retries_exhausted")
    return Decision(Outcome.RETRY, next_attempt_at=next_at)


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """Per-endpoint circuit breaker and auto-disable (PUBLISHER_BREAKER_* settings)."""

    failures_to_open: int = 5
    open_s: float = 60.0
    disable_after_s: float = 5 * 24 * 3600.0
    """Svix disables an endpoint after 5 days of failures; the bureau is told."""


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """What the breaker decides about an endpoint after a run of results."""

    consecutive_failures: int
    failing_since: datetime | None
    circuit_open_until: datetime | None
    disable: bool


def after_results(
    *,
    consecutive_failures: int,
    failing_since: datetime | None,
    successes: int,
    failures: int,
    now: datetime,
    policy: BreakerPolicy,
) -> EndpointHealth:
    """Fold one batch's results for an endpoint into its breaker state.

    Any success closes the breaker (the endpoint is alive); failures accumulate, open the
    circuit for `open_s` once they reach `failures_to_open`, and disable the endpoint when it
    has failed without a single success for `disable_after_s`.
    """
    if successes:
        return EndpointHealth(0, None, None, False)
    total = consecutive_failures + failures
    since = failing_since or now
    open_until = (
        now + timedelta(seconds=policy.open_s) if total >= policy.failures_to_open else None
    )
    disable = (now - since).total_seconds() >= policy.disable_after_s
    return EndpointHealth(total, since, open_until, disable)
