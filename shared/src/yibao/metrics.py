"""Prometheus metrics shared by every service (base units, `_total` counters, `_seconds`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "yibao_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "yibao_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_CONSUMED = Counter(
    "yibao_events_consumed_total",
    "Events taken from Kafka, by outcome (handled, duplicate, dead_lettered)",
    ["topic", "outcome"],
)
EVENT_HANDLE_DURATION = Histogram(
    "yibao_event_handle_duration_seconds",
    "Time from fetch to committed handling of a batch of events",
    ["topic"],
    buckets=LATENCY_BUCKETS,
)
EVENT_RETRIES = Counter(
    "yibao_event_retries_total", "Handler attempts that failed and were retried", ["topic"]
)
DLQ_MESSAGES = Counter(
    "yibao_dlq_messages_total", "Messages sent to a dead-letter topic", ["topic", "reason"]
)
CONSUMED_TOPICS = Gauge(
    "yibao_consumer_topic_info",
    "1 for each topic this service consumes (its DLQ is `<topic>.dlq`)",
    ["topic"],
)
CONSUMER_LAG = Gauge(
    "yibao_consumer_lag_messages",
    "Messages between a partition's high watermark and the consumer's position",
    ["topic", "partition"],
)
OUTBOX_PUBLISHED = Counter(
    "yibao_outbox_published_total", "Outbox events published to Kafka", ["topic"]
)
OUTBOX_DEAD = Counter(
    "yibao_outbox_dead_total",
    "Outbox events Kafka can never accept (e.g. too large), set aside in outbox_dead",
    ["topic"],
)
OUTBOX_BACKLOG = Gauge(
    "yibao_outbox_backlog_events", "Outbox rows seen waiting in the relay's last read"
)
OUTBOX_OLDEST_AGE = Gauge(
    "yibao_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row at the last read"
)
OUTBOX_PUBLISH_DURATION = Histogram(
    "yibao_outbox_publish_duration_seconds",
    "Time to publish one relay batch to Kafka",
    buckets=LATENCY_BUCKETS,
)
READINESS = Gauge("yibao_ready", "1 when the last readiness probe passed", ["check"])
