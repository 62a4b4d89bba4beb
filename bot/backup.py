"""Back up and restore the bot's database.

SQLite is copied with SQLite's own online backup API, which reads one consistent snapshot while
the bot keeps writing (in WAL mode readers never block the writer), then the copy is checked:
`PRAGMA integrity_check`, foreign keys, and rows per table. A restore writes the backup into the
live file through the same API rather than swapping files, so SQLite itself deals with the live
database's -wal and -shm files and with connections the bot still has open.

PostgreSQL has real tools for this (pg_dump, pg_restore); we print the exact command instead of
reimplementing them.

Neither writes a change-log row — the change log is inside the database being copied or
replaced — but both log (the logging module) what they did.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shlex
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

from storage import migrate
from storage.db import SQLITE_BUSY_TIMEOUT_MS, is_sqlite, normalize_database_url

logger = logging.getLogger(__name__)

# pages=-1 copies the whole database in one step, i.e. from one read transaction: one consistent
# snapshot. Copying in smaller steps would let the bot's writes between steps restart the backup
# from the beginning — with a busy bot, possibly forever.
ALL_PAGES: Final = -1
# How long the restore waits for the bot's write lock on the live database.
RESTORE_LOCK_TIMEOUT_S: Final = 30.0
SIDE_FILES: Final = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    """A backup or restore that didn't happen, with a message a person can act on."""


class NativeToolRequiredError(BackupError):
    """PostgreSQL: run this command (pg_dump / pg_restore) instead."""

    def __init__(self, message: str, command: str) -> None:
        super().__init__(message)
        self.command = command


@dataclass(frozen=True)
class DatabaseFacts:
    """What a SQLite file holds, as checked before trusting it."""

    path: Path
    integrity: str  # "ok", or SQLite's first complaint
    foreign_key_problems: int
    revision: str | None  # alembic_version, None when the table is missing or empty
    rows: dict[str, int]  # rows per table

    @property
    def healthy(self) -> bool:
        return self.integrity == "ok" and self.foreign_key_problems == 0

    def describe(self) -> str:
        customers = self.rows.get("customers", 0)
        followups = self.rows.get("followups", 0)
        return f"{customers:,} customers, {followups:,} follow-ups"


@dataclass(frozen=True)
class BackupReport:
    source: Path
    target: Path
    facts: DatabaseFacts
    size_bytes: int

    def lines(self) -> list[str]:
        return [
            f"Backed up {self.source} to {self.target} ({self.size_bytes:,} bytes).",
            f"Checked: integrity {self.facts.integrity}, "
            f"schema revision {self.facts.revision or 'none'}.",
            *(f"  {table}: {count:,} rows" for table, count in sorted(self.facts.rows.items())),
        ]


@dataclass(frozen=True)
class RestoreReport:
    database: Path
    source: Path
    saved_previous: Path | None  # where the replaced database was copied first
    facts: DatabaseFacts

    def lines(self) -> list[str]:
        lines = [f"Restored {self.database} from {self.source}: {self.facts.describe()}."]
        if self.saved_previous is not None:
            lines.append(f"The previous database was saved as {self.saved_previous}.")
        return lines


# --- SQLite files ----------------------------------------------------------------------------


def sqlite_path(database_url: str) -> Path:
    """The file behind a sqlite:/// URL (relative paths are relative to the working directory,
    as for the bot itself)."""
    database = make_url(normalize_database_url(database_url)).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"{database_url!r} is not a SQLite database file")
    return Path(database)


@contextmanager
def _connect(
    path: Path, *, timeout_s: float = SQLITE_BUSY_TIMEOUT_MS / 1000
) -> Iterator[sqlite3.Connection]:
    # isolation_level=None: no implicit transactions around our PRAGMAs and reads.
    with closing(sqlite3.connect(path, timeout=timeout_s, isolation_level=None)) as connection:
        yield connection


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def inspect_database(path: Path) -> DatabaseFacts:
    """Open a SQLite file and check it; BackupError if it isn't one."""
    if not path.is_file():
        raise BackupError(f"{path} doesn't exist")
    try:
        with _connect(path) as connection:
            integrity = str(connection.execute("PRAGMA integrity_check").fetchone()[0])
            problems = len(connection.execute("PRAGMA foreign_key_check").fetchall())
            tables = [
                str(name)
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            rows = {
                # The names come from the file's own catalogue and are quoted as identifiers.
                table: int(
                    connection.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()[0]  # noqa: S608
                )
                for table in tables
            }
            revision = (
                connection.execute("SELECT version_num FROM alembic_version").fetchone()
                if "alembic_version" in tables
                else None
            )
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a readable SQLite database: {error}") from None
    return DatabaseFacts(
        path=path,
        integrity=integrity,
        foreign_key_problems=problems,
        revision=str(revision[0]) if revision else None,
        rows=rows,
    )


def _copy(source: Path, destination: Path) -> None:
    """An online, consistent copy into a new file, made self-contained (no -wal beside it)."""
    with _connect(source) as reader, _connect(destination) as writer:
        reader.backup(writer, pages=ALL_PAGES)
        # The copy inherits WAL mode from the bot's database; a backup is easier to move around
        # as one file, so switch it to a rollback journal.
        writer.execute("PRAGMA journal_mode=DELETE")


def _remove_with_side_files(path: Path) -> None:
    for candidate in (path, *(path.with_name(path.name + side) for side in SIDE_FILES)):
        candidate.unlink(missing_ok=True)


# --- backup ----------------------------------------------------------------------------------


def backup(database_url: str, target: Path) -> BackupReport:
    """Copy the live database to `target` (a new file) while the bot keeps running, and check
    the copy. PostgreSQL: raises NativeToolRequiredError with the pg_dump command."""
    if not is_sqlite(database_url):
        command = pg_dump_command(database_url, target)
        raise NativeToolRequiredError(
            "PostgreSQL is backed up with pg_dump, which copies a running database "
            f"consistently. {_run_with_password(database_url)}\n  {command}",
            command,
        )
    source = sqlite_path(database_url)
    if not source.is_file():
        raise BackupError(f"there is no database at {source} (DATABASE_URL={database_url})")
    if target.exists():
        # Never overwrite: the target may be the only good backup (or the live database).
        raise BackupError(f"{target} already exists — choose a new file name, e.g. with the date")
    # Built beside the target and renamed into place only once checked, so a failed or
    # interrupted backup never leaves a file that looks like a good one.
    partial = target.with_name(f".{target.name}.partial")
    _remove_with_side_files(partial)
    try:
        _copy(source, partial)
        facts = inspect_database(partial)
        if not facts.healthy:
            raise BackupError(
                f"the copy failed its check (integrity: {facts.integrity}, "
                f"{facts.foreign_key_problems} foreign key problems); {source} may be damaged"
            )
        os.replace(partial, target)
    except sqlite3.Error as error:
        raise BackupError(f"couldn't copy {source}: {error}") from None
    finally:
        _remove_with_side_files(partial)
    facts = dataclasses.replace(facts, path=target)
    report = BackupReport(source, target, facts, target.stat().st_size)
    logger.info("backed up %s to %s: %s", source, target, facts.rows)
    return report


# --- restore ---------------------------------------------------------------------------------


def _known_revisions(database_url: str) -> set[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config(database_url))
    return {revision.revision for revision in script.walk_revisions()}


def check_restorable(database_url: str, source: Path) -> DatabaseFacts:
    """The source's facts, or BackupError saying why it must not replace the database."""
    facts = inspect_database(source)
    if not facts.healthy:
        raise BackupError(
            f"{source} failed its check (integrity: {facts.integrity}, "
            f"{facts.foreign_key_problems} foreign key problems) — not restoring it"
        )
    if facts.revision is None:
        raise BackupError(f"{source} has no alembic_version: it isn't a followup-bot database")
    if facts.revision not in _known_revisions(database_url):
        raise BackupError(
            f"{source} is at schema revision {facts.revision}, which this version of "
            "followup-bot doesn't know (it was made by a newer one) — upgrade the bot first"
        )
    return facts


def restore(
    database_url: str, source: Path, *, confirm: Callable[[str], bool]
) -> RestoreReport | None:
    """Replace the live database's contents with the backup `source`, once `confirm` agrees.

    Returns None when `confirm` says no (nothing is changed). The replaced database is first
    copied aside, and the restored one is migrated to this version's schema. PostgreSQL: raises
    NativeToolRequiredError with the pg_restore command.
    """
    if not is_sqlite(database_url):
        command = pg_restore_command(database_url, source)
        raise NativeToolRequiredError(
            "PostgreSQL is restored with pg_restore. Stop every bot instance first. "
            f"{_run_with_password(database_url)}\n  {command}",
            command,
        )
    live = sqlite_path(database_url)
    if live.exists() and source.resolve() == live.resolve():
        raise BackupError(f"{source} is the live database itself")
    incoming = check_restorable(database_url, source)
    current = inspect_database(live) if live.is_file() else None
    saved = _saved_name(live) if current is not None else None
    replaced = f"{live} ({current.describe()})" if current else f"{live} (no database yet)"
    question = (
        f"This replaces {replaced} with {source} ({incoming.describe()}). "
        + (f"The current database is first copied to {saved}. " if saved else "")
        + "Stop the bot first. Type yes to continue"
    )
    if not confirm(question):
        logger.info("restore of %s from %s cancelled; nothing changed", live, source)
        return None
    if saved is not None:
        try:
            _copy(live, saved)
        except sqlite3.Error as error:
            _remove_with_side_files(saved)
            raise BackupError(
                f"couldn't copy {live} aside first ({error}) — nothing was changed. Move {live} "
                "and its -wal and -shm files away by hand, then restore again."
            ) from None
    try:
        _write_into(source, live)
    except sqlite3.Error as error:
        raise BackupError(f"couldn't restore into {live}: {error} — nothing was changed") from None
    # An older backup gets this version's schema now, not at the bot's next start.
    migrate.upgrade(database_url)
    facts = inspect_database(live)
    logger.info("restored %s from %s: %s (previous saved as %s)", live, source, facts.rows, saved)
    return RestoreReport(live, source, saved, facts)


def _saved_name(live: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return live.with_name(f"{live.stem}.before-restore-{stamp}{live.suffix}")


def _write_into(source: Path, live: Path) -> None:
    """Write the backup into the live file through SQLite, as one transaction.

    Not os.replace: the bot's open connections would keep the old file, and a leftover -wal
    beside the new one would be replayed into it. Through the backup API, SQLite takes the write
    lock (waiting for the bot's current write), rewrites the pages, and every connection sees
    the new contents at its next transaction.
    """
    with (
        _connect(source) as reader,
        _connect(live, timeout_s=RESTORE_LOCK_TIMEOUT_S) as writer,
    ):
        reader.backup(writer, pages=ALL_PAGES)


# --- PostgreSQL ------------------------------------------------------------------------------


def _libpq_url(database_url: str) -> str:
    """The URL as pg_dump understands it: plain postgresql://, and never the password."""
    url = make_url(normalize_database_url(database_url))
    # Built afresh rather than with url.set(password=None): set() ignores None arguments.
    bare = URL.create(
        drivername="postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    return bare.render_as_string(hide_password=False)


SHELL_SAFE_IN_DOUBLE_QUOTES: Final = re.compile(r'[^"$`\\!]*')


def _shell_word(text: str) -> str:
    """Double quotes as people write them when that is safe, else the shell's own quoting."""
    if SHELL_SAFE_IN_DOUBLE_QUOTES.fullmatch(text):
        return f'"{text}"'
    return shlex.quote(text)


def _run_with_password(database_url: str) -> str:
    """How to give the password without it being printed here (or landing in shell history)."""
    if make_url(normalize_database_url(database_url)).password:
        return "Set PGPASSWORD to the password in DATABASE_URL (or put it in ~/.pgpass), then run:"
    return "Run (if the server asks for a password, set PGPASSWORD or use ~/.pgpass):"


def pg_dump_command(database_url: str, target: Path) -> str:
    return (
        f"pg_dump --format=custom --file={_shell_word(str(target))} "
        f"{_shell_word(_libpq_url(database_url))}"
    )


def pg_restore_command(database_url: str, source: Path) -> str:
    # --single-transaction: a failed restore leaves the database as it was.
    return (
        "pg_restore --clean --if-exists --no-owner --single-transaction "
        f"--dbname={_shell_word(_libpq_url(database_url))} {_shell_word(str(source))}"
    )
