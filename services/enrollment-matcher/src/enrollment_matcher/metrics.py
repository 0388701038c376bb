"""enrollment-matcher's own Prometheus metrics (the platform's come from `yibao.metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram
from yibao.metrics import LATENCY_BUCKETS

RECORDS_LINKED = Counter(
    "yibao_enrollment_records_linked_total",
    "Records linked, by rule (certno, probabilistic, new) or duplicate (a redelivery)",
    ["rule"],
)
REVIEWS_QUEUED = Counter(
    "yibao_enrollment_reviews_queued_total", "Uncertain decisions queued for clerical review"
)
PERSONS_MERGED = Counter(
    "yibao_enrollment_persons_merged_total", "Persons joined because a record bridged them"
)
MATCH_DURATION = Histogram(
    "yibao_enrollment_match_duration_seconds",
    "Time to link one batch of records (a single record, or a bulk chunk)",
    ["path"],
    buckets=LATENCY_BUCKETS,
)
JOB_ROWS = Counter(
    "yibao_enrollment_job_rows_total", "Bulk-load rows handled, by outcome", ["outcome"]
)
