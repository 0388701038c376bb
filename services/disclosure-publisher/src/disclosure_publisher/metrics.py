"""The publisher's own Prometheus metrics (base units, `_total`, `_seconds`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram
from yibao.metrics import LATENCY_BUCKETS

DELIVERY_ATTEMPTS = Counter(
    "yibao_notice_delivery_attempts_total",
    "Webhook delivery attempts, by outcome (delivered, retry, gone, exhausted)",
    ["outcome"],
)
DELIVERY_DURATION = Histogram(
    "yibao_notice_delivery_duration_seconds",
    "Time of one webhook POST, answer or failure included",
    buckets=LATENCY_BUCKETS,
)
ENDPOINTS_DISABLED = Counter(
    "yibao_notice_endpoints_disabled_total", "Endpoints disabled, by reason", ["reason"]
)
NOTICES_BUILT = Counter("yibao_notices_built_total", "Notices issued, by kind", ["kind"])
FEEDBACK_ESCALATED = Counter(
    "yibao_feedback_escalated_total", "Feedback items escalated as overdue"
)
