"""`make run`: the platform on this machine, a demo to watch, Ctrl-C to stop everything.

Uses `DATABASE_URL` (an admin DSN) and `KAFKA_BOOTSTRAP_SERVERS` when set, otherwise starts
the embedded PostgreSQL and Apache Kafka (or the Tansu fallback, loudly).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from pathlib import Path

from yibao.embedded.demo import run_demo
from yibao.embedded.platform import Platform
from yibao.logging import configure_logging
from yibao.topology import repo_root


def _run_dir() -> Path:
    """A fresh folder per run, so a second run never trips over a first one's leftovers."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return repo_root() / ".yibao" / f"run-{stamp}-{os.getpid()}"


async def main() -> int:
    """Start, demo, wait for a signal, stop."""
    configure_logging("launcher", os.environ.get("YIBAO_LOG_LEVEL", "INFO"))
    log = logging.getLogger("yibao.launcher")
    for chatty in ("httpx", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    token = os.environ.get("YIBAO_ADMIN_TOKEN")
    platform = Platform(
        run_dir=_run_dir(),
        database_url=os.environ.get("DATABASE_URL"),
        kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
    )
    if token:
        platform.admin_token = token
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    began = time.monotonic()
    try:
        print(f"Yibao: starting in {platform.run_dir} …", flush=True)
        await platform.start_infrastructure()
        flavour = platform.kafka.flavour if platform.kafka else "external"
        print(f"  database  {_redact(platform.database_url or '')}", flush=True)
        print(f"  broker    {platform.kafka_bootstrap} ({flavour})", flush=True)
        await platform.start_services()
        print(f"\nAll five services ready in {time.monotonic() - began:.1f}s:", flush=True)
        for service in platform.services.values():
            print(f"  {service.spec.name:<22} {service.url}/docs   (log: {service.log_path})")
        if token:
            print("\nAdmin token: from YIBAO_ADMIN_TOKEN")
        else:
            print(f"\nAdmin token (generated): {platform.admin_token}")
        if os.environ.get("YIBAO_DEMO", "1") != "0":
            await run_demo(
                {name: s.url for name, s in platform.services.items()}, platform.admin_token
            )
        print("\nRunning. Ctrl-C stops everything.", flush=True)
        await stop.wait()
    except Exception:
        log.exception("start-up failed")
        return 1
    finally:
        print("\nStopping …", flush=True)
        await asyncio.to_thread(platform.stop)
        print("Stopped.", flush=True)
    return 0


def _redact(dsn: str) -> str:
    head, sep, tail = dsn.partition("@")
    return head.split(":")[0] + "://…@" + tail if sep else dsn


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
