"""The Kafka bus: producer factory, message codec, the idempotent consumer loop and its DLQ."""
