"""`followup-bot import`: bring a team's follow-up spreadsheet (.xlsx or .csv) into the database.

The sheet is read as a stream — never all rows at once — and every non-blank row ends in exactly
one outcome, listed in the report with what was changed or why it was refused:

* imported — stored as written;
* fixed — stored, with something dropped or worth a look (a bad phone dropped while the email is
  good, a vague note kept as written, no next date);
* merged — stored as a follow-up of a customer already in the file or in the database (same phone,
  same email, or the same person at the same company);
* rejected — not stored, with every reason, so the sheet can be fixed and imported again;
* already imported — a row imported before (by its fingerprint), skipped.

Decisions worth knowing (tested in tests/test_import.py):

* Rows are written a group at a time (ROWS_PER_COMMIT rows, one transaction), mostly by
  multi-row statements just before the commit, so a crashed or killed import loses at most the
  uncommitted group — no row is ever half-stored — and run again skips what was stored and
  carries on. The one statement that can clash with another writer and is worth retrying (a
  phone or email filled in for a stored customer) runs at once, in the row's own savepoint.
* Big files (PARALLEL_MIN_BYTES) are read and checked in a second process while this one
  writes the database (an .xlsx report is written by a third): each costs about the same per
  row. They are plain child processes of this interpreter (see "helper processes"), so a
  program calling run_import needs no `if __name__ == "__main__":` guard.
* History: the newest row per customer (by contact date) is the open follow-up; older rows are
  stored done ("superseded"), as a newer entry closes the older one in the app. The open one gets
  a reminder at its next date if that is in the future. If its next date has passed, it stays open
  and overdue — in the Home tab, /followup list and the morning summary — but is marked escalated
  and gets no reminder DM: importing a backlog must not send hundreds of overdue DMs at once.
  Snoozing or editing it schedules reminders again. A row without a next date is stored done.
* Imported follow-ups keep their contact date as their creation date (and a new customer their
  first contact date), so the morning summary doesn't count years of history as "logged today".
  Their author is the row's owner (the person who made the contact); the change log names the
  person who ran the import (`--as`, else "import"), with the action "import".
* Vague notes are imported as written, with a warning (outcome "fixed"): refusing a team's
  history loses more than it protects. An empty summary is refused.
* Merged cells: read-only mode returns a merged range's value in its first cell only, so the
  sheet's list of merged ranges is read first; a blank cell in the first column of a range that
  spans several rows takes the range's value — for the customer columns only (name, company,
  phone, email, owner, status), which sheets merge down over one customer's rows. Other blank
  cells are never filled in.
* Duplicates within the file are found by exact phone, exact email, or name + company
  (likely_same_customer ≥ 90 among the customers with the same normalised company); the database
  is searched the same way, by indexed queries. Company names that differ beyond what
  normalize_company folds ("上海某某科技" vs "某某科技") are not merged here — a fuzzy scan over
  every company for every row would make large imports crawl; `/followup merge` joins them later.
* Existing customers keep their owner (only Reassign changes it); a row's details update the
  customer only if it is their newest contact, and a missing phone or email is filled in.
* --dry-run writes nothing but the one change-log line that records the dry run.
"""

from __future__ import annotations

import csv
import logging
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from sqlalchemy import Column, Connection, RootTransaction, Table, Update, bindparam, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from tqdm import tqdm

from bot import import_rules as rules
from bot.followups import DUPLICATE_THRESHOLD
from bot.import_reader import (
    CHUNK_ROWS,
    DONE,
    ParsedRow,
    ReadSettings,
    ReportFile,
    RowValues,
    SheetInfo,
    column_label,
    detect_encoding,
    read_in_background,
    read_sheet,
    report_file,
    send_item,
    start_helper,
)
from bot.import_reader import (
    ImportFileError as ImportFileError,  # part of this module's interface (bot.cli)
)
from bot.matching import likely_same_customer, normalize_company, normalize_person
from bot.permissions import SLACK_USER_ID
from bot.validation import FieldError, normalize_email
from storage import queries
from storage.crypto import lookup_hash
from storage.db import IMMEDIATE, Database
from storage.models import (
    CONTACT_HASHES,
    Base,
    ChangeLog,
    Customer,
    FollowUp,
    ImportedRow,
)

if TYPE_CHECKING:
    from bot.services import Services

logger = logging.getLogger(__name__)

Outcome = Literal["imported", "fixed", "merged", "rejected", "already imported"]
DEFAULT_ACTOR: Final = "import"
# Rows are written and committed this many at a time (a group: one transaction, mostly multi-row
# statements at its end), so no row ever half-imports. A commit per row would be the simplest
# story but costs SQLite a page write of every table touched, twice the whole import's budget on
# a 100,000-row sheet. A crash loses at most the rows since the last commit — their
# fingerprints with them — so the re-run skips what was committed and imports the rest.
ROWS_PER_COMMIT: Final = CHUNK_ROWS
# Files at least this big are read and checked in a second process while this one writes:
# reading an .xlsx is as slow as writing its rows, and the machine has more than one core.
PARALLEL_MIN_BYTES: Final = 1 << 20
SOURCE_MAX: Final = 300


@dataclass(frozen=True)
class ImportOptions:
    path: Path
    sheet: str | None
    dry_run: bool
    owner_map: Path | None
    report: Path | None
    date_order: Literal["mdy", "dmy", "ymd"]
    actor_id: str  # who is importing (for the change log); default "import"


@dataclass(frozen=True)
class ImportSummary:
    rows: int
    imported: int
    fixed: int
    merged: int
    rejected: int
    skipped_duplicate_rows: int  # already imported before (fingerprint)
    unmapped_headers: tuple[str, ...]
    report_path: Path | None


# =============================================================================================
# Owners: names and emails in the sheet → Slack users.
# =============================================================================================


@dataclass(frozen=True)
class OwnerMap:
    by_name: Mapping[str, str]  # owner_key(name) → Slack user id
    by_email: Mapping[str, str]  # normalised email → Slack user id


_OWNER_MAP_COLUMNS: Final = {
    "name": ("name", "owner", "姓名", "跟进人", "负责人"),
    "email": ("email", "e-mail", "邮箱"),
    "slack_user_id": ("slack_user_id", "slack user id", "slack id", "user id", "slack"),
}


def load_owner_map(path: Path) -> OwnerMap:
    """A CSV with a header row: name,slack_user_id or email,slack_user_id (or all three)."""
    if not path.is_file():
        raise ImportFileError(f"owner map {path} doesn't exist")
    with path.open(encoding=detect_encoding(path), newline="") as stream:
        rows = csv.reader(stream)
        header = next(rows, [])
        keys = [rules.header_key(cell) for cell in header]
        where = {
            name: next((keys.index(k) for k in map(rules.header_key, words) if k in keys), None)
            for name, words in _OWNER_MAP_COLUMNS.items()
        }
        user_column = where["slack_user_id"]
        if user_column is None or (where["name"] is None and where["email"] is None):
            raise ImportFileError(
                f"owner map {path.name} needs a header row: name,slack_user_id or "
                "email,slack_user_id"
            )
        by_name: dict[str, str] = {}
        by_email: dict[str, str] = {}
        for line, row in enumerate(rows, start=2):
            _add_owner(path, line, row, where, by_name, by_email)
    return OwnerMap(by_name, by_email)


def _add_owner(
    path: Path,
    line: int,
    row: Sequence[str],
    where: Mapping[str, int | None],
    by_name: dict[str, str],
    by_email: dict[str, str],
) -> None:
    def cell(name: str) -> str:
        index = where[name]
        return row[index].strip() if index is not None and index < len(row) else ""

    user_id = cell("slack_user_id")
    if not any(part.strip() for part in row):
        return
    if not SLACK_USER_ID.match(user_id):
        raise ImportFileError(
            f"owner map {path.name}, line {line}: '{user_id}' isn't a Slack user id like U012AB3CD"
        )
    for key, table in ((rules.owner_key(cell("name")), by_name), (cell("email"), by_email)):
        if not key:
            continue
        if table is by_email:
            try:
                key = normalize_email(key)
            except FieldError as error:
                raise ImportFileError(f"owner map {path.name}, line {line}: {error}") from None
        if table.setdefault(key, user_id) != user_id:
            raise ImportFileError(
                f"owner map {path.name}, line {line}: '{key}' is mapped to both "
                f"{table[key]} and {user_id}"
            )


class OwnerDirectory:
    """Resolves the owner cell: a Slack user id as is, a name through the owner map, an email
    through the owner map or Slack's users.lookupByEmail (asked once per address per run)."""

    def __init__(self, owner_map: OwnerMap | None, services: Services) -> None:
        self._map = owner_map
        self._client = services.client
        self._by_email: dict[str, str | None] = {}

    def resolve(self, written: str) -> tuple[str | None, str | None]:
        """(Slack user id, None), or (None, why not)."""
        text = written.strip()
        if SLACK_USER_ID.match(text) and any(ch.isdigit() for ch in text):
            return text, None
        if "@" in text:
            return self._by_address(text)
        user_id = self._map.by_name.get(rules.owner_key(text)) if self._map else None
        if user_id is None:
            hint = "" if self._map else " (pass --owner-map FILE with name,slack_user_id)"
            return None, f"owner '{text}' isn't in the owner map{hint}"
        return user_id, None

    def _by_address(self, text: str) -> tuple[str | None, str | None]:
        try:
            address = normalize_email(text)
        except FieldError as error:
            return None, f"owner email '{text}' invalid ({error})"
        if self._map and address in self._map.by_email:
            return self._map.by_email[address], None
        if address not in self._by_email:
            self._by_email[address] = self._lookup(address)
        user_id = self._by_email[address]
        if user_id is None:
            return None, f"owner email '{address}' isn't a Slack user in this workspace"
        return user_id, None

    def _lookup(self, address: str) -> str | None:
        try:
            answer = self._client.users_lookupByEmail(email=address)
        except SlackApiError as error:
            if error.response.get("error") == "users_not_found":
                return None
            raise
        user = answer.get("user") or {}
        if user.get("deleted"):
            return None
        user_id = user.get("id")
        return user_id if isinstance(user_id, str) else None


# =============================================================================================
# Customers: who each row is about, within the file and in the database.
# =============================================================================================


class RowRef:
    """A row by id — or, until its group of rows is written, by the values waiting to be
    inserted (then `pending` holds them, and a later row may still change them there)."""

    __slots__ = ("id", "pending")

    def __init__(self, row_id: int | None, pending: dict[str, Any] | None = None) -> None:
        self.id = row_id
        self.pending = pending


class FollowUpRef(RowRef):
    """A follow-up (a later row of the group may still close it while pending)."""

    __slots__ = ()


class CustomerRef(RowRef):
    """A customer: new ones are inserted together when their group of rows is written."""

    __slots__ = ()


@dataclass(slots=True)
class KnownCustomer:
    """A customer this import has seen: added by a row of this file, or found in the database."""

    ref: CustomerRef  # id None until the group adding them is written (for ever in a dry run)
    first_row: int | None  # the row of this file that added them; None if they existed before
    name: str
    company: str
    company_key: str
    phone_e164: str | None
    email: str | None
    owner_id: str
    status: str
    latest_contact: datetime | None
    open_followups: list[FollowUpRef] = field(default_factory=list)

    @property
    def db_id(self) -> int | None:
        return self.ref.id

    def label(self) -> str:
        if self.first_row is not None:
            return f"row {self.first_row}"
        return f"existing customer #{self.db_id}"


@dataclass(frozen=True)
class CustomerMatch:
    customer: KnownCustomer
    reason: str  # "same phone", "same email", "same name and company"


class CustomerBook:
    """Every customer this run has touched, indexed the ways a row can match them, so a row
    about a known customer costs dictionary lookups rather than a database round trip."""

    def __init__(self) -> None:
        self.by_phone: dict[str, KnownCustomer] = {}
        self.by_email: dict[str, KnownCustomer] = {}
        self.by_company: dict[str, list[KnownCustomer]] = {}
        self.by_db_id: dict[int, KnownCustomer] = {}

    def find(self, values: RowValues) -> CustomerMatch | None:
        if values.phone_e164 and values.phone_e164 in self.by_phone:
            return CustomerMatch(self.by_phone[values.phone_e164], "same phone")
        if values.email and values.email in self.by_email:
            return CustomerMatch(self.by_email[values.email], "same email")
        candidates = self.by_company.get(_company_key(values.company), [])
        best = _most_alike(values, ((c.name, c.company, c) for c in candidates))
        return None if best is None else CustomerMatch(best, "same name and company")

    def add(self, customer: KnownCustomer) -> None:
        self.register(customer)
        self.by_company.setdefault(customer.company_key, []).append(customer)
        self.index_contacts(customer)

    def register(self, customer: KnownCustomer) -> None:
        """Index by database id (a customer added by this run: once their group is written)."""
        if customer.db_id is not None:
            self.by_db_id[customer.db_id] = customer

    def index_contacts(self, customer: KnownCustomer) -> None:
        if customer.phone_e164:
            self.by_phone.setdefault(customer.phone_e164, customer)
        if customer.email:
            self.by_email.setdefault(customer.email, customer)

    def move_company(self, customer: KnownCustomer, new_key: str) -> None:
        bucket = self.by_company.get(customer.company_key, [])
        if customer in bucket:
            bucket.remove(customer)
        customer.company_key = new_key
        self.by_company.setdefault(new_key, []).append(customer)


_Candidate = TypeVar("_Candidate")


@lru_cache(maxsize=4096)
def _company_key(company: str) -> str:
    """normalize_company, remembered: each row asks for its company's key a few times (and a
    customer's rows tend to be close together)."""
    return normalize_company(company)


def _most_alike(
    values: RowValues, candidates: Iterable[tuple[str, str, _Candidate]]
) -> _Candidate | None:
    """The candidate most likely the same person at the same company, if likely enough."""
    best: tuple[float, _Candidate] | None = None
    for name, company, candidate in candidates:
        score = likely_same_customer(values.customer_name, values.company, name, company)
        if score >= DUPLICATE_THRESHOLD and (best is None or score > best[0]):
            best = (score, candidate)
    return None if best is None else best[1]


def _known_from_db(session: Session, book: CustomerBook, customer: Customer) -> KnownCustomer:
    """The database customer as this run tracks it (once: later rows find it in the book)."""
    known = book.by_db_id.get(customer.id)
    if known is not None:
        return known
    latest = queries.followups_of_customer(session, customer.id, limit=1)
    known = KnownCustomer(
        ref=CustomerRef(customer.id),
        first_row=None,
        name=customer.name,
        company=customer.company,
        company_key=customer.company_key or _company_key(customer.company),
        phone_e164=customer.phone_e164,
        email=customer.email,
        owner_id=customer.owner_id,
        status=customer.status,
        latest_contact=latest[0].contacted_at if latest else None,
        open_followups=[
            FollowUpRef(f.id) for f in queries.open_followups_for_customer(session, customer.id)
        ],
    )
    book.add(known)
    return known


def _find_in_database(
    session: Session, book: CustomerBook, values: RowValues
) -> CustomerMatch | None:
    """The same searches as CustomerBook.find, by indexed queries (as at entry)."""
    found = queries.find_customer_by_contact(
        session, phone_e164=values.phone_e164, email=values.email, lock=True
    )
    if found is not None:
        same_phone = values.phone_e164 is not None and found.phone_e164 == values.phone_e164
        reason = "same phone" if same_phone else "same email"
        return CustomerMatch(_known_from_db(session, book, found), reason)
    candidates = queries.customers_with_company_keys(session, [_company_key(values.company)])
    alike = _most_alike(values, ((c.name, c.company, c) for c in candidates))
    if alike is None:
        return None
    return CustomerMatch(_known_from_db(session, book, alike), "same name and company")


# =============================================================================================
# Planning and writing one row.
# =============================================================================================


@dataclass(frozen=True)
class Plan:
    """Everything one row will change, decided before anything is written."""

    row: ParsedRow
    values: RowValues
    owner_id: str
    match: CustomerMatch | None  # None: a new customer
    newest: bool  # the customer's newest contact: their details and open follow-up come from it
    customer_changes: dict[str, str]  # field → new value
    state: Literal["open", "done"]
    next_at: datetime
    done_at: datetime | None
    remind_at: datetime | None
    escalated: bool
    supersede: tuple[FollowUpRef, ...]  # open follow-ups this row's contact closes
    notes: tuple[str, ...]  # for the report

    @property
    def may_clash(self) -> bool:
        """Whether writing this row runs a statement at once that can hit a unique index another
        writer also touches: a phone or email filled in for a customer already stored. (A new
        customer waits for the group's insert, checked for clashes before the group is planned.)
        """
        changes = self.customer_changes
        customer = self.match.customer if self.match else None
        stored = customer is not None and customer.db_id is not None
        return stored and ("phone_e164" in changes or "email" in changes)


@dataclass(frozen=True)
class Written:
    customer: CustomerRef | None
    followup: FollowUpRef | None


def _customer_changes(
    session: Session | None,
    book: CustomerBook,
    customer: KnownCustomer,
    values: RowValues,
    newest: bool,
) -> dict[str, str]:
    """What this row changes about a known customer: name, company and status from their
    newest row; a phone or email they don't have yet (unless it is another customer's)."""
    changes: dict[str, str] = {}
    if newest:
        for name, value in (
            ("name", values.customer_name),
            ("company", values.company),
            ("status", values.status),
        ):
            if getattr(customer, name) != value:
                changes[name] = value
    for name, contact, index in (
        ("phone_e164", values.phone_e164, book.by_phone),
        ("email", values.email, book.by_email),
    ):
        if contact and _fills_gap(session, customer, name, contact, index):
            changes[name] = contact
    return changes


def _fills_gap(
    session: Session | None,
    customer: KnownCustomer,
    name: str,
    contact: str,
    index: Mapping[str, KnownCustomer],
) -> bool:
    """Whether `contact` can be the customer's missing phone (or email): not another's."""
    if getattr(customer, name) is not None or index.get(contact, customer) is not customer:
        return False
    return session is None or not _contact_taken(session, customer, name, contact)


def _contact_taken(session: Session, customer: KnownCustomer, name: str, value: str) -> bool:
    other = queries.find_customer_by_contact(
        session,
        phone_e164=value if name == "phone_e164" else None,
        email=value if name == "email" else None,
    )
    return other is not None and other.id != customer.db_id


def is_newest(customer: KnownCustomer, contacted_at: datetime) -> bool:
    """Whether a contact at `contacted_at` is the customer's newest (ties: the later row)."""
    return customer.latest_contact is None or contacted_at >= customer.latest_contact


def plan_row(
    row: ParsedRow,
    values: RowValues,
    owner_id: str,
    match: CustomerMatch | None,
    changes: dict[str, str],
    *,
    newest: bool,
    now: datetime,
    zone: ZoneInfo,
) -> Plan:
    """Open or done, reminded or not: the module docstring's history rules, for one row."""
    customer = match.customer if match else None
    latest = customer.latest_contact if customer else None
    notes = [f"merged into {customer.label()} ({match.reason})"] if customer and match else []
    remind_at: datetime | None = None
    escalated = False
    state: Literal["open", "done"] = "done"
    done_at: datetime | None = values.contacted_at
    if not newest:
        done_at = latest
        notes.append("older than the customer's latest contact — stored as done")
    elif values.next_at is not None and values.status != "lost":
        state, done_at = "open", None
        if values.next_at > now:
            remind_at = values.next_at
        else:
            escalated = True
            shown = rules.describe_moment(values.next_at, zone)
            notes.append(f"next contact {shown} has passed — open and overdue, no reminder DM")
    supersede = tuple(customer.open_followups) if customer and newest else ()
    return Plan(
        row=row,
        values=values,
        owner_id=owner_id,
        match=match,
        newest=newest,
        customer_changes=changes,
        state=state,
        next_at=values.next_at or values.contacted_at,
        done_at=done_at,
        remind_at=remind_at,
        escalated=escalated,
        supersede=supersede,
        notes=tuple(notes),
    )


def _table(model: type[Base]) -> Table:
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


_CUSTOMERS: Final = _table(Customer)
_FOLLOWUPS: Final = _table(FollowUp)
# Built once and run with parameters: a statement built per row costs more in SQLAlchemy's
# statement cache than the database takes to run it.
_CHANGE_LOG: Final = _table(ChangeLog)
_IMPORTED_ROWS: Final = _table(ImportedRow)
_CLOSE_FOLLOWUP: Final = (
    _FOLLOWUPS.update()
    .where(_FOLLOWUPS.c.id == bindparam("close_id"), _FOLLOWUPS.c.state == "open")
    .values(
        state="done",
        done_at=bindparam("closed_at"),
        done_by=bindparam("closed_by"),
        remind_at=None,
        version=_FOLLOWUPS.c.version + 1,
    )
)


CONTACT_FIELDS: Final = ("phone_e164", "email")
# A phone or email changes with its lookup hash (as the ORM's _fill_lookup_hashes does).
_HASH_OF: Final = dict(CONTACT_HASHES)


@cache
def _update_customer_statement(fields: frozenset[str]) -> Update:
    """UPDATE customers SET <fields>, version + n — one statement per set of changed fields."""
    names = sorted(fields | {_HASH_OF[name] for name in fields if name in _HASH_OF})
    return (
        _CUSTOMERS.update()
        .where(_CUSTOMERS.c.id == bindparam("customer_id"))
        .values(
            {
                **{name: bindparam(f"new_{name}") for name in names},
                "version": _CUSTOMERS.c.version + bindparam("version_step"),
                "updated_at": bindparam("new_updated_at"),
            }
        )
    )


def _update_customer_parameters(
    customer_id: int | None, now: datetime, version_step: int, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The parameters of _update_customer_statement(frozenset(values))."""
    params = {
        "customer_id": customer_id,
        "new_updated_at": now,
        "version_step": version_step,
        **{f"new_{name}": value for name, value in values.items()},
    }
    for name, hashed in CONTACT_HASHES:
        if name in values:
            value = values[name]
            params[f"new_{hashed}"] = None if value is None else lookup_hash(value)
    return params


class _Writer:
    """Writes Plans with Core statements on one connection, as bot.followups would: customer and
    follow-up logged, a superseded follow-up closed as close_followup does (state done, no
    reminder, version bumped, logged "superseded").

    A phone or email filled in for a stored customer can clash with another writer: it is
    written at once, inside the row's savepoint. Everything else — new customers included —
    waits for the commit and goes in a few multi-row statements (`flush`): one statement per
    row, with SQLAlchemy's per-statement cost, would be most of a big import's time. New
    customers can't clash there: the group's phones and emails are looked up in the database
    when the group starts (see _ImportRun.handle), and on SQLite the group holds the write lock
    from then on; on PostgreSQL a customer saved in the same instant by someone else makes the
    database refuse the group (nothing of it is stored; the re-run merges the row). Rows are
    planned against the importer's own memory of every customer it touched, so nothing needs to
    be read back before the commit.
    """

    def __init__(
        self, connection: Connection, *, actor_id: str, source: str, now: datetime
    ) -> None:
        self.connection = connection
        self.actor_id = actor_id
        self.source = source
        self.now = now
        self.discard()

    def discard(self) -> None:
        """Forget what waits for the commit (after a rollback)."""
        self.customers: list[CustomerRef] = []
        self.followups: list[FollowUpRef] = []
        self.closes: list[dict[str, Any]] = []
        self.customer_updates: dict[CustomerRef, dict[str, Any]] = {}
        self.changes: list[dict[str, Any]] = []
        self.rows: list[dict[str, Any]] = []

    def write(self, plan: Plan) -> Written:
        """Write (or queue) one row. Statements that can fail come first, so a row that fails
        leaves nothing queued."""
        log: list[dict[str, Any]] = []
        customer = plan.match.customer if plan.match else None
        if customer is None:
            customer_ref = self._add_customer(plan, log)
        else:
            customer_ref = customer.ref
            self._update_customer(customer, plan, log)
        self._close_superseded(plan, log)
        followup = self._add_followup(plan, customer_ref, log)
        self.changes.extend(log)
        self.rows.append(
            {
                "fingerprint": plan.row.fingerprint,
                "followup_id": followup,
                "source": self.source,
                "row_number": plan.row.number,
                "imported_at": self.now,
                "imported_by": self.actor_id,
            }
        )
        return Written(customer_ref, followup)

    def flush(self) -> None:
        """Write what waits for the commit: new customers, then follow-ups (the follow-ups, the
        log and the fingerprints need their ids)."""
        _insert_pending(self.connection, _CUSTOMERS, self.customers)
        _insert_pending(self.connection, _FOLLOWUPS, self.followups)
        if self.closes:
            self.connection.execute(_CLOSE_FOLLOWUP, self.closes)
        by_fields: dict[frozenset[str], list[dict[str, Any]]] = {}
        for customer_ref, update in self.customer_updates.items():
            fields = frozenset(update) - {"version_step"}
            by_fields.setdefault(fields, []).append(
                _update_customer_parameters(
                    customer_ref.id,
                    self.now,
                    update["version_step"],
                    {name: update[name] for name in fields},
                )
            )
        for fields, params in by_fields.items():
            self.connection.execute(_update_customer_statement(fields), params)
        if self.changes:
            _insert_rows(self.connection, _CHANGE_LOG, [_log_row(c) for c in self.changes])
        if self.rows:
            _insert_rows(
                self.connection, _IMPORTED_ROWS, [_with_ids(r, "followup_id") for r in self.rows]
            )
        self.discard()

    def _entry(
        self,
        entity: str,
        entity_id: RowRef,
        action: str,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "at": self.now,
            "actor_id": self.actor_id,
            "entity": entity,
            "entity_id": entity_id,
            "action": action,
            "before": before,
            "after": after,
        }

    def _add_customer(self, plan: Plan, log: list[dict[str, Any]]) -> CustomerRef:
        values = plan.values
        fields = {
            "name": values.customer_name,
            "company": values.company,
            "phone_e164": values.phone_e164,
            "email": values.email,
            "owner_id": plan.owner_id,
            "status": values.status,
        }
        ref = CustomerRef(
            None,
            {
                **fields,
                "name_key": normalize_person(values.customer_name),
                "company_key": _company_key(values.company),
                "version": 1,
                "created_by": self.actor_id,
                # Their history starts at the first contact in the sheet, not today.
                "owner_since": values.contacted_at,
                "created_at": values.contacted_at,
                "updated_at": self.now,
            },
        )
        self.customers.append(ref)
        after = {**fields, "source": self.source, "row": plan.row.number}
        log.append(self._entry("customer", ref, "import", after=after))
        return ref

    def _update_customer(
        self, customer: KnownCustomer, plan: Plan, log: list[dict[str, Any]]
    ) -> None:
        changes = plan.customer_changes
        if not changes:
            return
        contacts: dict[str, str] = {
            name: changes[name] for name in CONTACT_FIELDS if name in changes
        }
        if contacts and customer.db_id is not None:  # a unique index: now, in the row's savepoint
            self.connection.execute(
                _update_customer_statement(frozenset(contacts)),
                _update_customer_parameters(customer.db_id, self.now, 0, contacts),
            )
        pending = customer.ref.pending
        if pending is not None:
            # Added earlier in this group: its insert carries the changes (and the lookup
            # hashes of the values it is finally inserted with) — no UPDATE after it.
            update = pending
            update["version"] += 1
        else:
            update = self.customer_updates.setdefault(customer.ref, {"version_step": 0})
            update["version_step"] += 1
        for name, value in changes.items():
            if name not in contacts or customer.db_id is None:
                update[name] = value
        if "name" in changes:
            update["name_key"] = normalize_person(changes["name"])
        if "company" in changes:
            update["company_key"] = _company_key(changes["company"])
        before = {name: getattr(customer, name) for name in changes}
        log.append(
            self._entry("customer", customer.ref, "import", before=before, after=dict(changes))
        )

    def _close_superseded(self, plan: Plan, log: list[dict[str, Any]]) -> None:
        closed_at = plan.values.contacted_at
        for ref in plan.supersede:
            if ref.pending is not None:  # added earlier in this group: stored closed at once
                ref.pending.update(
                    state="done",
                    done_at=closed_at,
                    done_by=self.actor_id,
                    remind_at=None,
                    escalated=False,
                    version=ref.pending["version"] + 1,
                )
            elif ref.id is not None:
                self.closes.append(
                    {"close_id": ref.id, "closed_at": closed_at, "closed_by": self.actor_id}
                )
            log.append(
                self._entry(
                    "followup",
                    ref,
                    "superseded",
                    before={"state": "open"},
                    after={"state": "done"},
                )
            )

    def _add_followup(
        self, plan: Plan, customer: CustomerRef, log: list[dict[str, Any]]
    ) -> FollowUpRef:
        values = plan.values
        fields = {
            "customer_id": customer,
            "owner_id": plan.owner_id,
            "contacted_at": values.contacted_at,
            "method": values.method,
            "summary": values.summary,
            "feedback": values.feedback,
            "status_after": values.status,
            "next_at": plan.next_at,
            "next_action": values.next_action,
            "notes": values.notes,
            "state": plan.state,
        }
        ref = FollowUpRef(
            None,
            {
                **fields,
                # The row's owner made the contact the row records.
                "author_id": plan.owner_id,
                "version": 1,
                "submission_key": None,
                "created_at": values.contacted_at,
                "done_at": plan.done_at,
                "done_by": self.actor_id if plan.state == "done" else None,
                "remind_at": plan.remind_at,
                "remind_attempts": 0,
                "claimed_until": None,
                "claim_token": None,
                "escalated": plan.escalated,
            },
        )
        self.followups.append(ref)
        after = {
            **fields,
            "contacted_at": values.contacted_at.isoformat(),
            "next_at": plan.next_at.isoformat(),
            "source": self.source,
            "row": plan.row.number,
        }
        log.append(self._entry("followup", ref, "import", after=after))
        return ref


def _with_ids(params: dict[str, Any], name: str) -> dict[str, Any]:
    """The parameters, with the reference under `name` replaced by its id (known after flush)
    — in place: the parameters were made for this insert."""
    value = params.get(name)
    if isinstance(value, RowRef):
        params[name] = value.id
    return params


def _log_row(entry: dict[str, Any]) -> dict[str, Any]:
    """A change-log entry with its ids: the entity's, and the customer's in a follow-up's."""
    after = entry["after"]
    if after is not None:
        _with_ids(after, "customer_id")
    return _with_ids(entry, "entity_id")


def _insert_pending(connection: Connection, table: Table, refs: Sequence[RowRef]) -> None:
    """Insert the refs' pending rows and give each ref its id."""
    if not refs:
        return
    rows = [_with_ids(ref.pending, "customer_id") for ref in refs if ref.pending is not None]
    with Session(bind=connection, join_transaction_mode="rollback_only") as session:
        if connection.dialect.name == "sqlite":
            # SQLite numbers rows one after the other from the last id, and this transaction
            # holds the write lock (IMMEDIATE): number them here. (RETURNING would cost a
            # statement per row: SQLite doesn't promise its rows' order.)
            first = queries.last_sqlite_row_id(session, table.name) + 1
            ids: Sequence[int] = range(first, first + len(rows))
        else:
            # PostgreSQL: ids from the table's sequence, all in one round trip.
            ids = queries.next_postgres_ids(session, table.name, len(rows))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
    _insert_rows(connection, table, rows)
    for ref, row_id in zip(refs, ids, strict=True):
        ref.id, ref.pending = row_id, None


def _insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys). SQLite: a plain executemany. PostgreSQL: COPY —
    a multi-row INSERT there costs more in the driver (parsing a statement with thousands of
    parameters, for every group) than in the database, and executemany a round trip per row."""
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    _copy_rows(connection, table, rows)


class _InsertParameters:
    """What a column default function sees of the row being inserted (as SQLAlchemy's
    execution context offers it): the row's own values."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self._row = row

    def get_current_parameters(self) -> Mapping[str, Any]:
        return self._row


def _copy_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """PostgreSQL's COPY FROM STDIN of `rows`, each value as table.insert() would send it: the
    columns' Python-side defaults filled in (the contact lookup hashes among them), then each
    type's bind processing (encryption, JSON, UTC)."""
    import psycopg  # the PostgreSQL driver, loaded with the dialect already

    if not rows:
        return
    dialect = connection.dialect
    given = rows[0].keys()
    columns = [c for c in table.columns if c.key in given or c.default is not None]
    defaults = [None if c.key in given else c.default for c in columns]
    processors = [c.type._cached_bind_processor(dialect) for c in columns]
    quote = dialect.identifier_preparer.quote
    types = _binary_copy_types(connection, table, columns)
    statement = (
        f"COPY {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(c.name) for c in columns)}) FROM STDIN"
        + ("" if types is None else " (FORMAT BINARY)")
    )
    keys = [c.key for c in columns]
    driver: Any = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            if types is not None:
                copy.set_types(types)
            for row in rows:
                values: list[Any] = []
                for key, default, process in zip(keys, defaults, processors, strict=True):
                    if default is None:
                        value = row[key]
                    elif default.is_callable:
                        value = default.arg(_InsertParameters(row))  # type: ignore[attr-defined]
                    else:
                        value = default.arg  # type: ignore[attr-defined]
                    # None too: a JSON column stores None as JSON null, as an INSERT would.
                    values.append(value if process is None else process(value))
                copy.write_row(values)
    except psycopg.Error as error:
        # As SQLAlchemy raises it for any statement: an IntegrityError for a clash.
        raise DBAPIError.instance(statement, None, error, psycopg.Error) from error


# The types a binary COPY can send as the bind processors leave the values (int, str, aware
# datetime, bool, psycopg's Json): int2/4/8, text, varchar, timestamptz, bool, json.
_BINARY_COPY_OIDS: Final = frozenset({21, 23, 20, 25, 1043, 1184, 16, 114})


def _binary_copy_types(
    connection: Connection, table: Table, columns: Sequence[Column[Any]]
) -> list[int] | None:
    """The columns' type oids in the database, for a binary COPY (the server then parses no
    text: a third of its work on a group's rows); None — a text COPY — if any column has a
    type not in _BINARY_COPY_OIDS. Asked once per table and connection."""
    known: dict[str, dict[str, int]] = connection.info.setdefault("import_column_types", {})
    if table.name not in known:
        with Session(bind=connection, join_transaction_mode="rollback_only") as session:
            known[table.name] = queries.postgres_column_types(session, table.name)
    oids = [known[table.name].get(column.name) for column in columns]
    if any(oid not in _BINARY_COPY_OIDS for oid in oids):
        return None
    return [oid for oid in oids if oid is not None]


# =============================================================================================
# The report: one line per non-blank row, written as the import goes.
# =============================================================================================


class _ReportInBackground:
    """An .xlsx report written by a third process: openpyxl's writer costs as much per row as
    the database does, and the import is otherwise limited by the slower of reader and writer.
    (A CSV report costs little: it is written by the importing process.)"""

    def __init__(self, path: Path) -> None:
        self._process = start_helper(
            "report", path, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
        )
        self._rows: list[list[object]] = []

    def write(self, values: Sequence[object]) -> None:
        self._rows.append(list(values))
        if len(self._rows) >= CHUNK_ROWS:
            self._send()

    def _send(self) -> None:
        if self._rows:
            self._put(self._rows)
            self._rows = []

    def _put(self, item: object) -> None:
        stream = self._process.stdin
        if stream is None:
            raise RuntimeError("the report process has no input")
        try:
            send_item(stream, item)
        except BrokenPipeError:
            raise RuntimeError("the report process stopped unexpectedly") from None

    def close(self) -> None:
        try:
            self._send()
            self._put(DONE)
        finally:
            if self._process.stdin is not None:
                with suppress(BrokenPipeError):
                    self._process.stdin.close()
            self._process.wait()
        if self._process.returncode != 0:
            raise RuntimeError(f"writing the report failed (exit code {self._process.returncode})")


def _open_report(path: Path, info: SheetInfo, *, background: bool) -> ReportFile:
    report: ReportFile = _ReportInBackground(path) if background else report_file(path)
    originals = [column_label(c) for c in info.columns.columns if c.kind != "report"]
    report.write([*rules.REPORT_COLUMNS, *originals])
    unknown = [c for c in info.columns.columns if c.kind == "unknown"]
    if unknown:
        listed = "; ".join(f"'{c.header}' ({c.remark})" for c in unknown)
        report.write(
            [info.header_row, "columns", f"kept in notes as 'Header: value': {listed}", "", ""]
        )
    return report


# =============================================================================================
# The run.
# =============================================================================================


@dataclass
class _Counts:
    rows: int = 0
    imported: int = 0
    fixed: int = 0
    merged: int = 0
    rejected: int = 0
    already: int = 0

    def add(self, outcome: Outcome) -> None:
        self.rows += 1
        if outcome == "imported":
            self.imported += 1
        elif outcome == "fixed":
            self.fixed += 1
        elif outcome == "merged":
            self.merged += 1
        elif outcome == "rejected":
            self.rejected += 1
        else:
            self.already += 1


@dataclass(frozen=True)
class RowResult:
    outcome: Outcome
    changes: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


class _Savepoint:
    """A row's statements, undone together if one fails — for rows that can clash with another
    writer at once (a phone or email filled in for a stored customer: the unique indexes; see
    Plan.may_clash). Other rows can only fail on something unexpected, which aborts the whole
    uncommitted group instead, so they are spared two statements each. A raw SAVEPOINT costs a
    third of SQLAlchemy's nested transaction, which tracks what this doesn't need."""

    def __init__(self, connection: Connection, *, active: bool) -> None:
        self._connection = connection
        self._active = active
        self._open = False

    def __enter__(self) -> _Savepoint:
        return self

    def begin_if(self, needed: bool) -> None:
        if self._active and needed:
            self._connection.exec_driver_sql("SAVEPOINT import_row")
            self._open = True

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if not self._open:
            return
        if kind is not None:
            self._connection.exec_driver_sql("ROLLBACK TO SAVEPOINT import_row")
        self._connection.exec_driver_sql("RELEASE SAVEPOINT import_row")


@contextmanager
def _import_connection(db: Database, *, dry_run: bool) -> Iterator[Connection]:
    """The one connection an import writes through."""
    engine = db.engine
    if not dry_run:
        # SQLite: each transaction takes the write lock up front, like every writer of the bot.
        engine = engine.execution_options(**{IMMEDIATE: True})
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres and not dry_run:
            # Many small commits: waiting for each to reach the disk would dominate the run.
            # A crash can lose the last few commits, fingerprints included, so the re-run
            # imports exactly those rows again.
            with connection.begin():
                connection.exec_driver_sql("SET synchronous_commit TO OFF")
        try:
            yield connection
        finally:
            if postgres and not dry_run and not connection.invalidated:
                with connection.begin():
                    connection.exec_driver_sql("RESET synchronous_commit")


class _ImportRun:
    def __init__(
        self,
        services: Services,
        options: ImportOptions,
        info: SheetInfo,
        owners: OwnerDirectory,
        report: ReportFile | None,
        connection: Connection,
    ) -> None:
        self.options = options
        self.info = info
        self.owners = owners
        self.report = report
        self.now = services.clock()
        self.zone = services.settings.zone
        self.source = _source_name(options.path, info.sheet)
        self.book = CustomerBook()
        self.counts = _Counts()
        # Fingerprint → row number, of the rows stored (or, in a dry run, that would be).
        # Keyed by the fingerprint's bytes: half the memory of its hex, for every row of the file.
        self.stored: dict[bytes, int] = {}
        # Customers added by the rows of the group being written: no id until it is flushed.
        self.added: list[KnownCustomer] = []
        with connection.begin():
            found = connection.execute(select(Customer.id).limit(1)).first()
        self.database_had_customers = found is not None
        self.connection = connection
        self.writer = _Writer(
            connection, actor_id=options.actor_id, source=self.source, now=self.now
        )

    def handle(self, chunk: Sequence[ParsedRow]) -> None:
        """Import a chunk of rows, committed ROWS_PER_COMMIT at a time (a group); outcomes are
        counted and reported once their rows are committed."""
        connection = self.connection
        done: list[tuple[ParsedRow, RowResult]] = []
        for start in range(0, len(chunk), ROWS_PER_COMMIT):
            group = chunk[start : start + ROWS_PER_COMMIT]
            transaction = connection.begin()
            try:
                before, taken = self._look_up(connection, group)
                for row in group:
                    done.append((row, self._handle_row(connection, row, before, taken)))
                self._finish(transaction)
            finally:
                if transaction.is_active:
                    transaction.rollback()
                self.writer.discard()
                self.added.clear()
        for row, result in done:
            self._record(row, result)

    def _look_up(
        self, connection: Connection, group: Sequence[ParsedRow]
    ) -> tuple[dict[str, tuple[str, int]], set[str]]:
        """When the group starts, in one query: its rows imported before (fingerprint → source
        and row number), and its phones and emails some customer in the database already holds.

        The contacts are only needed when the database had no customers when the import began
        (otherwise every row not matched in memory is searched in the database anyway): a row
        with such a phone or email is then searched too, rather than planned as a new customer
        who would clash with the stored one (customers saved meanwhile in Slack)."""
        phones: set[str] = set()
        emails: set[str] = set()
        if not (self.database_had_customers or self.options.dry_run):
            # A phone or email this run already knows is its customer's (they are unique).
            book = self.book
            for row in group:
                values = row.values
                if values is None:
                    continue
                if values.phone_e164 and values.phone_e164 not in book.by_phone:
                    phones.add(values.phone_e164)
                if values.email and values.email not in book.by_email:
                    emails.add(values.email)
        with Session(bind=connection, join_transaction_mode="rollback_only") as session:
            return queries.imported_before_and_contacts_in_use(
                session, [row.fingerprint for row in group], sorted(phones), sorted(emails)
            )

    def _finish(self, transaction: RootTransaction) -> None:
        if self.options.dry_run:
            transaction.rollback()
            return
        try:
            self.writer.flush()
            for customer in self.added:
                self.book.register(customer)
            self.added.clear()
        except IntegrityError as error:
            # Most likely the same rows imported by someone else at this very moment.
            transaction.rollback()
            raise ImportFileError(
                f"the database refused a group of rows ({error.orig}); nothing of them was "
                "stored — run the import again (rows already imported are skipped)"
            ) from error
        transaction.commit()

    def _record(self, row: ParsedRow, result: RowResult) -> None:
        self.counts.add(result.outcome)
        if self.report is not None:
            self.report.write(
                [
                    row.number,
                    result.outcome,
                    "; ".join(result.changes),
                    "; ".join(result.reasons),
                    row.sheet,
                    *row.cells,
                ]
            )

    def _imported_before(
        self, connection: Connection, fingerprints: Sequence[str]
    ) -> dict[str, tuple[str, int]]:
        rows = connection.execute(
            select(ImportedRow.fingerprint, ImportedRow.source, ImportedRow.row_number).where(
                ImportedRow.fingerprint.in_(fingerprints)
            )
        ).all()
        return {fingerprint: (source, number) for fingerprint, source, number in rows}

    def _handle_row(
        self,
        connection: Connection,
        row: ParsedRow,
        before: Mapping[str, tuple[str, int]],
        taken: Set[str],
    ) -> RowResult:
        same_as = self.stored.get(bytes.fromhex(row.fingerprint))
        if same_as is not None:
            return RowResult("already imported", (f"same as row {same_as}",))
        if row.fingerprint in before:
            source, number = before[row.fingerprint]
            return RowResult("already imported", (f"imported before: {source}, row {number}",))
        if row.values is None:
            return RowResult("rejected", row.fixes + row.info, row.problems)
        owner_id, problem = self.owners.resolve(row.values.owner)
        if owner_id is None:
            return RowResult("rejected", row.fixes + row.info, (problem or "owner unknown",))
        values = row.values
        search = any(contact in taken for contact in (values.phone_e164, values.email) if contact)
        try:
            plan = self._store(connection, row, values, owner_id, search_database=search)
        except IntegrityError:
            # Someone else stored this customer (or this very row) since we looked: look again.
            if row.fingerprint in self._imported_before(connection, [row.fingerprint]):
                return RowResult("already imported", ("imported meanwhile by another run",))
            try:
                plan = self._store(connection, row, row.values, owner_id, search_database=True)
            except IntegrityError as error:
                reason = f"the database refused the row: {error.orig}"
                return RowResult("rejected", row.fixes + row.info, (reason,))
        changes = plan.notes[:1] + row.fixes + row.info + plan.notes[1:]
        if plan.match is not None:
            return RowResult("merged", changes)
        return RowResult("fixed" if row.fixes else "imported", changes)

    def _store(
        self,
        connection: Connection,
        row: ParsedRow,
        values: RowValues,
        owner_id: str,
        *,
        search_database: bool,
    ) -> Plan:
        """Plan and write (or queue) one row, in a savepoint if it may clash; only then remember
        what it did."""
        # The database is asked only if it may hold customers this run doesn't know yet.
        ask_database = search_database or self.database_had_customers
        with ExitStack() as stack:
            savepoint = stack.enter_context(_Savepoint(connection, active=not self.options.dry_run))
            # Reads through the row's savepoint; closing the session must not roll it back.
            session = (
                stack.enter_context(Session(bind=connection, join_transaction_mode="rollback_only"))
                if ask_database
                else None
            )
            match = self.book.find(values)
            if match is None and session is not None:
                match = _find_in_database(session, self.book, values)
            customer = match.customer if match else None
            newest = customer is None or is_newest(customer, values.contacted_at)
            changes = (
                _customer_changes(session, self.book, customer, values, newest) if customer else {}
            )
            plan = plan_row(
                row, values, owner_id, match, changes, newest=newest, now=self.now, zone=self.zone
            )
            if self.options.dry_run:
                written = Written(None, None)
            else:
                savepoint.begin_if(plan.may_clash)
                written = self.writer.write(plan)
        self._remember(plan, written)
        return plan

    def _remember(self, plan: Plan, written: Written) -> None:
        values = plan.values
        customer = plan.match.customer if plan.match else None
        if customer is None:
            customer = KnownCustomer(
                ref=written.customer or CustomerRef(None),
                first_row=plan.row.number,
                name=values.customer_name,
                company=values.company,
                company_key=_company_key(values.company),
                phone_e164=values.phone_e164,
                email=values.email,
                # Interned: a few owners and statuses, otherwise a copy for each customer.
                owner_id=sys.intern(plan.owner_id),
                status=sys.intern(values.status),
                latest_contact=None,
            )
            self.book.add(customer)
            if customer.db_id is None and not self.options.dry_run:
                self.added.append(customer)  # its id comes with the group's insert
        else:
            self._apply_changes(customer, plan.customer_changes)
        if plan.newest:
            customer.latest_contact = values.contacted_at
            opened = written.followup if plan.state == "open" else None
            customer.open_followups = [opened] if opened is not None else []
        self.stored[bytes.fromhex(plan.row.fingerprint)] = plan.row.number

    def _apply_changes(self, customer: KnownCustomer, changes: Mapping[str, str]) -> None:
        customer.name = changes.get("name", customer.name)
        customer.status = sys.intern(changes.get("status", customer.status))
        if "company" in changes:
            customer.company = changes["company"]
            self.book.move_company(customer, _company_key(customer.company))
        customer.phone_e164 = changes.get("phone_e164", customer.phone_e164)
        customer.email = changes.get("email", customer.email)
        self.book.index_contacts(customer)

    def summary(self) -> ImportSummary:
        counts = self.counts
        return ImportSummary(
            rows=counts.rows,
            imported=counts.imported,
            fixed=counts.fixed,
            merged=counts.merged,
            rejected=counts.rejected,
            skipped_duplicate_rows=counts.already,
            unmapped_headers=self.info.columns.unmapped_headers,
            report_path=self.options.report,
        )


def _source_name(path: Path, sheet: str) -> str:
    name = f"{path.name} [{sheet}]" if sheet else path.name
    return name[:SOURCE_MAX]


def _check_options(options: ImportOptions) -> None:
    if not options.path.is_file():
        raise ImportFileError(f"{options.path} doesn't exist")
    suffix = options.path.suffix.lower()
    if suffix == ".xls":
        raise ImportFileError(
            f"{options.path.name} is an old .xls file — save it as .xlsx (or CSV) and import that"
        )
    if suffix not in (".xlsx", ".xlsm", ".csv", ".txt"):
        raise ImportFileError(f"{options.path.name}: import reads .xlsx and .csv files")
    if options.date_order not in rules.DATE_ORDERS:
        raise ImportFileError(f"--date-order must be one of {', '.join(rules.DATE_ORDERS)}")
    if options.actor_id != DEFAULT_ACTOR and not SLACK_USER_ID.match(options.actor_id):
        raise ImportFileError(
            f"--as needs a Slack user id like U012AB3CD, not '{options.actor_id}'"
        )
    report = options.report
    if report is not None and report.suffix.lower() not in (".xlsx", ".csv"):
        raise ImportFileError("--report must end in .xlsx or .csv")


def run_import(services: Services, options: ImportOptions, *, progress: bool) -> ImportSummary:
    """Import the spreadsheet; see the module docstring for the rules."""
    _check_options(options)
    owner_map = load_owner_map(options.owner_map) if options.owner_map else None
    settings = services.settings
    read_settings = ReadSettings(
        path=options.path,
        sheet=options.sheet,
        order=options.date_order,
        zone=settings.zone,
        default_time=settings.default_remind_hour,
        now=services.clock(),
        phone_region=settings.default_phone_region,
    )
    parallel = options.path.stat().st_size >= PARALLEL_MIN_BYTES
    with ExitStack() as stack:
        stream = (
            stack.enter_context(read_in_background(read_settings))
            if parallel
            else read_sheet(read_settings)
        )
        info = next(stream)
        if not isinstance(info, SheetInfo):
            raise RuntimeError("the reader sent rows before the sheet's header")
        report = (
            _open_report(
                options.report,
                info,
                background=parallel and options.report.suffix.lower() != ".csv",
            )
            if options.report
            else None
        )
        if report is not None:
            # Also on a failure or Ctrl-C: the report then lists the rows handled so far.
            stack.callback(report.close)
        connection = stack.enter_context(_import_connection(services.db, dry_run=options.dry_run))
        owners = OwnerDirectory(owner_map, services)
        run = _ImportRun(services, options, info, owners, report, connection)
        bar = stack.enter_context(
            tqdm(
                total=info.estimated_rows,
                unit="row",
                desc=options.path.name,
                file=sys.stderr,
                disable=not (progress and sys.stderr.isatty()),
            )
        )
        for chunk in stream:
            if isinstance(chunk, SheetInfo):
                raise RuntimeError("the reader sent the sheet's header twice")
            run.handle(chunk)
            bar.update(len(chunk))
    summary = run.summary()
    _log_import(services.db, options, run, summary)
    return summary


def _log_import(
    db: Database, options: ImportOptions, run: _ImportRun, summary: ImportSummary
) -> None:
    """One change-log line for the whole import — a dry run included, as a record of who
    previewed what; it is the only thing a dry run writes."""
    with db.transaction() as session:
        queries.log_change(
            session,
            actor_id=options.actor_id,
            entity="import",
            entity_id=None,
            action="import_dry_run" if options.dry_run else "import",
            before=None,
            after={
                "file": options.path.name,
                "sheet": run.info.sheet,
                "rows": summary.rows,
                "imported": summary.imported,
                "fixed": summary.fixed,
                "merged": summary.merged,
                "rejected": summary.rejected,
                "skipped_duplicate_rows": summary.skipped_duplicate_rows,
                "unmapped_headers": list(summary.unmapped_headers),
                "report": str(summary.report_path) if summary.report_path else None,
            },
            at=run.now,
        )
