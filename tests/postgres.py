"""A throw-away PostgreSQL server for the test session, from the machine's own binaries.

Started once per session on a free loopback port in a temporary directory, with durability
switched off (it's thrown away). Set FOLLOWUP_TEST_POSTGRES_URL to use a server you run yourself.
Without binaries the PostgreSQL tests skip — except under CI=true, where they must run.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_USER = "postgres"
_INITDB_OPTIONS = ["-E", "UTF8", "--no-locale"]


class PostgresUnavailableError(RuntimeError):
    pass


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    """initdb refuses to run as root; CI runs as root, so drop to the postgres user there."""
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailableError("running as root but runuser is not available")
    return [runuser, "-u", SERVER_USER, "--", *argv]


def _run(argv: list[str]) -> None:
    result = subprocess.run(_as_server_user(argv), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PostgresUnavailableError(
            f"{Path(argv[0]).name} failed ({result.returncode}): {result.stderr.strip()[-2000:]}"
        )


class PostgresServer:
    """A throw-away server in a temporary directory that a test may stop and start again (on the
    same port, with the same data) to play a database outage. Use `throwaway_postgres()` for a
    server that only has to be there.

    `durable=True` keeps every commit across `stop()`: without it (synchronous_commit off, for
    speed) an immediate stop loses the last fraction of a second of commits, which a test of
    "what was answered is stored" must not confuse with a bug."""

    def __init__(self, *, durable: bool = False) -> None:
        initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise PostgresUnavailableError("initdb/pg_ctl not found (install postgresql-15)")
        self._pg_ctl = pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix="followup-pg-"))
        self.data, sockets = self.root / "data", self.root / "sock"
        sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, SERVER_USER)
            shutil.chown(sockets, SERVER_USER)
        self.port = free_port()
        self._options = (
            f"-p {self.port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        if not durable:
            self._options += " -c synchronous_commit=off"
        self.running = False
        try:
            _run([initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", *_INITDB_OPTIONS])
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        log = str(self.root / "server.log")
        _run([self._pg_ctl, "-D", str(self.data), "-o", self._options, "-l", log, "-w", "start"])
        self.running = True

    def stop(self) -> None:
        """Stop at once, as a crash or a failover would: every connection is cut."""
        _run([self._pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        self.running = False

    def remove(self) -> None:
        try:
            if self.running:
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Yield a SQLAlchemy URL for a fresh server; stop and delete it afterwards."""
    server = PostgresServer()
    try:
        server.start()
        yield server.url
    finally:
        server.remove()
