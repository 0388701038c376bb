"""Producer settings tuned from the measured broker facts (batching, acks, idempotence)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from yibao.settings import ServiceSettings

MAX_REQUEST_BYTES = 1_048_576
"""The largest request (and so record) the producer sends: Kafka's default limit."""


def create_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """acks=all with 256 KB batches (38k msg/s measured vs 24k with the 16 KB default).

    Idempotence is on for Apache Kafka; the Tansu fallback does not support it, so the
    embedded runtime turns it off there through `*_KAFKA_IDEMPOTENT_PRODUCER`.
    """
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=settings.kafka_client_id or settings.service_name,
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=262_144,
        max_request_size=MAX_REQUEST_BYTES,
        request_timeout_ms=15_000,
    )
