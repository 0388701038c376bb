"""Real PostgreSQL and Apache Kafka on one machine, without Docker, for `make run` and tests."""

from yibao.embedded.kafka import EmbeddedKafka, create_topics, resolve_kafka_jars
from yibao.embedded.ports import free_port
from yibao.embedded.postgres import EmbeddedPostgres, ensure_database

__all__ = [
    "EmbeddedKafka",
    "EmbeddedPostgres",
    "create_topics",
    "ensure_database",
    "free_port",
    "resolve_kafka_jars",
]
