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


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Yield a SQLAlchemy URL for a fresh server; stop and delete it afterwards."""
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise PostgresUnavailableError("initdb/pg_ctl not found (install postgresql-15)")
    root = Path(tempfile.mkdtemp(prefix="followup-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, SERVER_USER)
        shutil.chown(sockets, SERVER_USER)
    port = free_port()
    try:
        _run(
            [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"]
        )
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        _run(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start"]
        )
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            _run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
