"""Structured logs: one JSON object per line that a shipper parses without regexes.

The correlation id comes from the contextvar the HTTP middleware and the consumer set, so
a line written deep inside a handler still ties back to its request or event.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from yibao.logging import JsonFormatter, correlation_id


class Lines:
    """What one logger wrote through `JsonFormatter`, parsed line by line."""

    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    def raw(self) -> list[str]:
        return self._stream.getvalue().splitlines()

    def parsed(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.raw()]


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, Lines]]:
    """A private logger writing JSON to memory, detached from the root logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("settlement-ingest"))
    logger = logging.getLogger("yibao.tests.json")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, Lines(stream)
    finally:
        logger.handlers[:] = []
        logger.propagate = True


def test_a_record_is_one_json_object_with_the_core_fields(
    log: tuple[logging.Logger, Lines],
) -> None:
    """ts, level, service, logger and the formatted msg are always there."""
    logger, lines = log
    logger.warning("moved %d codes", 3)
    [entry] = lines.parsed()
    assert entry["level"] == "warning"
    assert entry["service"] == "settlement-ingest"
    assert entry["logger"] == "yibao.tests.json"
    assert entry["msg"] == "moved 3 codes"
    assert datetime.fromisoformat(entry["ts"]).utcoffset() is not None


def test_the_timestamp_is_utc_with_milliseconds(log: tuple[logging.Logger, Lines]) -> None:
    """A fixed shape (`2026-11-23T02:00:00.123+00:00`) sorts and parses alike everywhere."""
    logger, lines = log
    logger.info("tick")
    [entry] = lines.parsed()
    assert entry["ts"].endswith("+00:00")
    assert len(entry["ts"].split(".")[1]) == len("123+00:00")


def test_the_correlation_id_is_taken_from_the_contextvar(
    log: tuple[logging.Logger, Lines],
) -> None:
    """No call site passes it: the middleware or the consumer set it once."""
    logger, lines = log
    token = correlation_id.set("req-42")
    try:
        logger.info("inside a request")
    finally:
        correlation_id.reset(token)
    logger.info("outside any request")
    inside, outside = lines.parsed()
    assert inside["correlation_id"] == "req-42"
    assert "correlation_id" not in outside


def test_extra_fields_become_top_level_keys(log: tuple[logging.Logger, Lines]) -> None:
    """`extra={"event_id": …}` is searchable as its own field, not buried in msg."""
    logger, lines = log
    logger.info("handled", extra={"event_id": "e-1", "topic": "settlement.requested.v1"})
    [entry] = lines.parsed()
    assert entry["event_id"] == "e-1"
    assert entry["topic"] == "settlement.requested.v1"


def test_logrecord_internals_are_not_dumped(log: tuple[logging.Logger, Lines]) -> None:
    """Only what we chose goes out: no args, pathname, lineno, thread … noise."""
    logger, lines = log
    logger.info("plain %s", "message")
    [entry] = lines.parsed()
    assert set(entry) == {"ts", "level", "service", "logger", "msg"}


def test_values_json_cannot_express_are_written_as_text(
    log: tuple[logging.Logger, Lines],
) -> None:
    """A Decimal amount or any object in `extra` must not make the log call fail."""
    logger, lines = log
    logger.info("amount", extra={"amount": Decimal("12.30"), "thing": object()})
    [entry] = lines.parsed()
    assert entry["amount"] == "12.30"
    assert entry["thing"].startswith("<object object")


def test_an_exception_is_included_as_text_on_the_same_line(
    log: tuple[logging.Logger, Lines],
) -> None:
    """The traceback stays inside the JSON object, so one event is still one line."""
    logger, lines = log
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("handler failed")
    [line] = lines.raw()
    entry = json.loads(line)
    assert entry["level"] == "error"
    assert "Traceback" in entry["exc"]
    assert "ValueError: boom" in entry["exc"]


def test_no_exc_key_without_an_exception(log: tuple[logging.Logger, Lines]) -> None:
    """`exc` appears only when there is one, so alerting can key on its presence."""
    logger, lines = log
    logger.error("refused")
    assert "exc" not in lines.parsed()[0]
