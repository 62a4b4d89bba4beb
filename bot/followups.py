"""The core rules for logging a follow-up: validate what a rep typed, then store it in one piece.

Everything here runs on the server, whatever the Slack client allowed: a required field can arrive
empty, a select can carry a value it never offered. Errors are keyed by the modal's block_ids, so
the handler can hand them straight back to Slack under the right field, in the words of whoever
submitted the form (errors are deferred `Text`, rendered by the handler).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.company_keys import company_keys
from bot.dates import ParsedWhen, parse_when
from bot.i18n import Message, Text, Translator, _, _n
from bot.matching import (
    likely_same_customer,
    normalize_company,
    normalize_person,
)
from bot.permissions import SLACK_USER_ID, may_act_on
from bot.settings import Settings
from bot.validation import (
    COMPANY_MAX,
    NAME_MAX,
    NEXT_ACTION_MAX,
    NOTE_MAX,
    FieldError,
    check_specific_note,
    clean_text,
    limit_length,
    normalize_email,
    normalize_phone,
    require_text,
    shorten,
)
from storage import queries
from storage.db import Database
from storage.models import METHODS, STATUSES, Customer, FollowUp

# A contact logged a few minutes "in the future" is clock skew between phone and server, not a typo.
CONTACT_CLOCK_SKEW = timedelta(minutes=10)
NEXT_AT_HORIZON = timedelta(days=366)


class FormError(Exception):
    """Problems with a submission, keyed by block_id, each in words the rep can act on.

    Messages are `Text` (or plain strings from callers not yet translated); `rendered(t)` gives
    what Slack's `response_action: errors` takes, in the submitter's language.
    """

    def __init__(self, errors: Mapping[str, Message]) -> None:
        super().__init__({block_id: str(message) for block_id, message in errors.items()})
        self.errors: dict[str, Message] = dict(errors)

    def rendered(self, t: Translator) -> dict[str, str]:
        return {block_id: t.render(message) for block_id, message in self.errors.items()}


@dataclass(frozen=True)
class FollowupForm:
    """The modal's values as Slack sent them: untrusted, possibly missing."""

    customer_name: str | None
    company: str | None
    phone: str | None
    email: str | None
    contacted_at: datetime | None
    method: str | None
    summary: str | None
    feedback: str | None
    owner_id: str | None
    next_at: str | None
    next_action: str | None
    status: str | None
    notes: str | None
    existing_customer_id: int | None = None
    confirm_new_customer: bool = False
    confirm_close_open: bool = False


@dataclass(frozen=True)
class ValidFollowup:
    customer_name: str
    company: str
    phone_e164: str | None
    email: str | None
    contacted_at: datetime
    method: str
    summary: str
    feedback: str
    owner_id: str
    next_at: ParsedWhen | None  # None only for a customer marked lost: nothing comes next
    next_action: str | None
    status: str
    notes: str | None
    existing_customer_id: int | None = None
    confirm_new_customer: bool = False
    confirm_close_open: bool = False


@dataclass(frozen=True)
class FormContext:
    """What the rules need besides the form: the submitter's zone, the clock, workspace defaults."""

    zone: ZoneInfo
    now: datetime
    phone_region: str
    default_time: time
    # When editing: the next-contact text the form was opened with. Left as it was, it stands
    # even if that moment has passed (fixing a typo in the summary must not force a new date).
    unchanged_next_at: str | None = None
    # Editing: the customer exists, with contacts on record (maybe hidden from this editor).
    contacts_on_record: bool = False


class _Collector:
    """Runs each field rule, keeping the first problem per field so every error shows at once."""

    def __init__(self) -> None:
        self.errors: dict[str, Message] = {}

    def field(self, block_id: str, rule: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return rule(*args, **kwargs)
        except FieldError as error:
            self.errors.setdefault(block_id, error.message)
            return None


def validate_followup(form: FollowupForm, context: FormContext) -> ValidFollowup:
    """Check every field; raise FormError listing all problems, or return clean values."""
    check = _Collector()
    name = check.field(
        "customer_name",
        require_text,
        form.customer_name,
        missing=_("Please fill in the customer's name."),
        max_length=NAME_MAX,
    )
    company = check.field(
        "company",
        require_text,
        form.company,
        missing=_("Please fill in the company."),
        max_length=COMPANY_MAX,
    )
    phone, email = _contact(check, form, context)
    contacted_at = check.field("contacted_at", _contacted_at, form.contacted_at, context.now)
    method = check.field(
        "method", _one_of, form.method, METHODS, _("Pick how you contacted the customer.")
    )
    status = check.field(
        "status",
        _one_of,
        form.status,
        STATUSES,
        _("Pick the customer's status after this contact."),
    )
    summary = check.field(
        "summary", _note, form.summary, "summary", _("Please fill in what was discussed.")
    )
    feedback = check.field("feedback", _feedback, form.feedback, status)
    owner = check.field("owner", _owner, form.owner_id)
    lost = status == "lost"
    next_at = (
        None
        if lost and not clean_text(form.next_at)
        else (check.field("next_at", _next_at, form.next_at, context))
    )
    next_action = (
        None
        if lost and not clean_text(form.next_action)
        else (check.field("next_action", _next_action, form.next_action))
    )
    notes = check.field("notes", _optional_text, form.notes, NOTE_MAX)
    if check.errors:
        raise FormError(check.errors)
    return ValidFollowup(
        customer_name=name,
        company=company,
        phone_e164=phone,
        email=email,
        contacted_at=contacted_at,
        method=method,
        summary=summary,
        feedback=feedback,
        owner_id=owner,
        next_at=next_at,
        next_action=next_action,
        status=status,
        notes=notes,
        existing_customer_id=form.existing_customer_id,
        confirm_new_customer=form.confirm_new_customer,
        confirm_close_open=form.confirm_close_open,
    )


def _contact(
    check: _Collector, form: FollowupForm, context: FormContext
) -> tuple[str | None, str | None]:
    region = context.phone_region
    raw_phone, raw_email = clean_text(form.phone), clean_text(form.email)
    # A customer picked from the list (or being edited) already has contacts on record.
    known = form.existing_customer_id is not None or context.contacts_on_record
    if not raw_phone and not raw_email and not known:
        check.errors["phone"] = _(
            "Give a phone number or an email, so anyone on the team can reach this customer."
        )
        return None, None
    phone = check.field("phone", normalize_phone, raw_phone, region) if raw_phone else None
    email = check.field("email", normalize_email, raw_email) if raw_email else None
    return phone, email


def _contacted_at(value: datetime | None, now: datetime) -> datetime:
    if value is None:
        return now
    if value > now + CONTACT_CLOCK_SKEW:
        raise FieldError(_("That's in the future — when did this contact happen?"))
    return value


def _one_of(value: str | None, allowed: tuple[str, ...], message: Text) -> str:
    if value not in allowed:
        raise FieldError(message)
    return value


def _note(value: str | None, kind: str, missing: Text) -> str:
    text = require_text(value, missing=missing, max_length=NOTE_MAX)
    check_specific_note(text, kind=kind)  # type: ignore[arg-type]
    return text


WHY_WON_OR_LOST: Mapping[str, Text] = {
    "won": _(
        "Say why they bought — what decided it (e.g. 'Chose us over Acme for SSO; 200 seats')."
    ),
    "lost": _("Say why the customer was lost (e.g. 'Went with Acme: 20% cheaper, no SSO needed')."),
}


def _feedback(value: str | None, status: str | None) -> str:
    """Feedback is always specific; for won and lost it must say why, as the pipeline report
    and the next colleague need the reason, not just the outcome."""
    try:
        return _note(value, "feedback", _("Please fill in what the customer said."))
    except FieldError as problem:
        why = WHY_WON_OR_LOST.get(status or "")
        if why is not None and clean_text(value):
            raise FieldError(why) from problem
        raise


def _next_action(value: str | None) -> str:
    text = require_text(
        value, missing=_("Please fill in what you will do next."), max_length=NEXT_ACTION_MAX
    )
    check_specific_note(text, kind="next_action")
    return text


def _optional_text(value: str | None, max_length: int) -> str | None:
    text = clean_text(value)
    return limit_length(text, max_length) if text else None


def _owner(value: str | None) -> str:
    if not value or not SLACK_USER_ID.match(value):
        raise FieldError(_("Pick who owns this customer."))
    return value


def _next_at(value: str | None, context: FormContext) -> ParsedWhen:
    """English and Chinese are both read whatever the rep's language; only the messages differ.

    A moment in a message is a datetime parameter: the form renders it in the rep's language.
    """
    text = require_text(
        value, missing=_("Please fill in when to contact them next."), max_length=200
    )
    parsed = parse_when(text, context.zone, context.now, context.default_time)
    if parsed is None:
        raise FieldError(
            _(
                "Couldn't read '{value}' as a date — try 'next Tue 3pm', '1 Dec' or 'in 2 weeks'.",
                value=shorten(text),
            )
        )
    if text == context.unchanged_next_at:
        return parsed
    if parsed.at_utc <= context.now:
        raise FieldError(
            _(
                "'{value}' is {when}, which has already passed — when will you contact them next?",
                value=shorten(text),
                when=parsed.local,
            )
        )
    if parsed.at_utc - context.now > NEXT_AT_HORIZON:
        raise FieldError(
            _(
                "'{value}' is {when}, more than a year away — pick a date within the next "
                "12 months.",
                value=shorten(text),
                when=parsed.local,
            )
        )
    return parsed


@dataclass(frozen=True)
class Recorded:
    customer: Customer
    followup: FollowUp
    customer_created: bool
    already_recorded: bool
    notify_owner: str | None = None  # someone else's customer: tell its owner
    closed_open: int = 0


def record_followup(
    db: Database,
    settings: Settings,
    entry: ValidFollowup,
    *,
    author_id: str,
    submission_key: str | None,
    now: datetime,
) -> Recorded:
    """Store the customer and the follow-up together, with change-log rows, or nothing at all.

    `submission_key` makes a repeated submission of the same modal a no-op that returns the first
    result: Slack clients retry, and people double-click.
    """
    for attempt in range(2):
        try:
            with db.transaction() as session:
                return _record(
                    session,
                    settings,
                    entry,
                    author_id=author_id,
                    submission_key=submission_key,
                    now=now,
                )
        except (IntegrityError, StaleDataError):
            # Another save committed first: the same submission delivered twice, someone
            # creating the same customer, or a change to the customer or its open follow-up
            # since we read it. Running again works from what they stored.
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


def _record(
    session: Session,
    settings: Settings,
    entry: ValidFollowup,
    *,
    author_id: str,
    submission_key: str | None,
    now: datetime,
) -> Recorded:
    if submission_key is not None:
        existing = queries.find_followup_by_submission(session, submission_key)
        if existing is not None:
            return Recorded(existing.customer, existing, False, already_recorded=True)
    customer = _resolve_customer(session, settings, entry, author_id)
    created = customer is None
    if customer is None:
        customer = _create_customer(session, entry, author_id, now)
    else:
        _confirm_lost(session, customer, entry)
        permitted = may_act_on(session, settings, actor_id=author_id, owner_id=customer.owner_id)
        _update_customer(session, customer, entry, author_id, now, may_change_details=permitted)
        if not permitted:
            # The follow-up goes to the customer's owner: a colleague can't hand it to anyone.
            entry = replace(entry, owner_id=customer.owner_id)
    closed = _close_superseded(session, customer, author_id, entry.contacted_at, now)
    followup = _new_followup(entry, customer, author_id, submission_key, now)
    session.add(followup)
    session.flush()
    queries.log_change(
        session,
        actor_id=author_id,
        entity="followup",
        entity_id=followup.id,
        action="create",
        before=None,
        after=followup_fields(followup),
        at=now,
    )
    tell = customer.owner_id if not created and customer.owner_id != author_id else None
    return Recorded(customer, followup, created, False, notify_owner=tell, closed_open=closed)


def _new_followup(
    entry: ValidFollowup,
    customer: Customer,
    author_id: str,
    submission_key: str | None,
    now: datetime,
) -> FollowUp:
    """Open with a reminder at the next contact — or, for a lost customer, closed at once."""
    lost = entry.status == "lost"
    next_at = entry.next_at.at_utc if entry.next_at is not None else entry.contacted_at
    return FollowUp(
        customer=customer,
        author_id=author_id,
        owner_id=entry.owner_id,
        contacted_at=entry.contacted_at,
        method=entry.method,
        summary=entry.summary,
        feedback=entry.feedback,
        status_after=entry.status,
        next_at=next_at,
        next_action=entry.next_action or "",
        notes=entry.notes,
        state="done" if lost else "open",
        done_at=entry.contacted_at if lost else None,
        done_by=author_id if lost else None,
        submission_key=submission_key,
        remind_at=None if lost else next_at,
        created_at=now,
    )


def _resolve_customer(
    session: Session, settings: Settings, entry: ValidFollowup, author_id: str
) -> Customer | None:
    """The customer this entry is about: the one picked, else the one with this phone or email,
    else None (a new customer) — unless a similar one exists and the rep didn't say it's new."""
    if entry.existing_customer_id is not None:
        picked = queries.get_customer(session, entry.existing_customer_id, lock=True)
        if picked is None:
            raise FormError(
                {"existing_customer": _("That customer no longer exists — pick again.")}
            )
        return picked
    customer = queries.find_customer_by_contact(
        session, phone_e164=entry.phone_e164, email=entry.email, lock=True
    )
    if customer is not None:
        _require_seen_ownership(session, settings, customer, entry, author_id)
        return customer
    if entry.confirm_new_customer:
        return None
    # Two reps typing the same new customer at once must not both pass the look-alike check:
    # serialise it per company (PostgreSQL; SQLite writers are serialised already).
    queries.lock_company_key(session, normalize_company(entry.company))
    similar = find_similar_customer(session, entry.customer_name, entry.company)
    if similar is not None and _same_contact(similar, entry):
        # Saved by someone else a moment ago (it committed after our lookup above): it's this
        # very customer, not a look-alike.
        return queries.get_customer(session, similar.id, lock=True)
    if similar is not None:
        owner = queries.user_names(session, [similar.owner_id]).get(similar.owner_id)
        raise FormError(
            {
                "customer_name": _(
                    "Looks like {name} · {company}, already a customer (owner: {owner}). Pick "
                    "them under “Find an existing customer” at the top — or, if this really is "
                    "someone else, tick “Add as a new customer” at the bottom.",
                    name=similar.name,
                    company=similar.company,
                    owner=owner or similar.owner_id,
                )
            }
        )
    return None


def _require_seen_ownership(
    session: Session, settings: Settings, customer: Customer, entry: ValidFollowup, author_id: str
) -> None:
    """A colleague's customer found by the phone or email typed: before saving, the rep must
    see whose it is (the form says so once the customer is picked)."""
    if may_act_on(session, settings, actor_id=author_id, owner_id=customer.owner_id):
        return
    owner = queries.user_names(session, [customer.owner_id]).get(customer.owner_id)
    field = "phone" if entry.phone_e164 and customer.phone_e164 == entry.phone_e164 else "email"
    raise FormError(
        {
            field: _(
                "This is {name} · {company}, already a customer of {owner}. Pick them under "
                "“Find an existing customer” at the top: your follow-up will be added to their "
                "record and they will be told.",
                name=customer.name,
                company=customer.company,
                owner=owner or customer.owner_id,
            )
        }
    )


DUPLICATE_THRESHOLD = 90.0


def _same_contact(customer: Customer, entry: ValidFollowup) -> bool:
    return bool(
        (entry.phone_e164 and customer.phone_e164 == entry.phone_e164)
        or (entry.email and customer.email == entry.email)
    )


def find_similar_customer(session: Session, name: str, company: str) -> Customer | None:
    """A customer who is likely this same person at this same company, best match first.

    Candidates come from the indexed company key (exact, then fuzzy over the distinct keys),
    so this stays a few queries however many customers there are.
    """
    key = normalize_company(company)
    keys = [key, *company_keys(session).similar(key)]
    best: tuple[float, Customer] | None = None
    for candidate in queries.customers_with_company_keys(session, keys):
        score = likely_same_customer(name, company, candidate.name, candidate.company)
        if score >= DUPLICATE_THRESHOLD and (best is None or score > best[0]):
            best = (score, candidate)
    return best[1] if best else None


def _confirm_lost(session: Session, customer: Customer, entry: ValidFollowup) -> None:
    """Marking a customer lost closes their open follow-ups; the rep must say they mean it."""
    if entry.status != "lost" or entry.confirm_close_open:
        return
    still_open = len(queries.open_followups_for_customer(session, customer.id))
    if still_open:
        raise FormError(
            {
                "status": _n(
                    "Marking {name} lost closes {count} open follow-up — tick “Customer lost: "
                    "close their open follow-ups” at the bottom to confirm.",
                    "Marking {name} lost closes {count} open follow-ups — tick “Customer lost: "
                    "close their open follow-ups” at the bottom to confirm.",
                    still_open,
                    name=customer.name,
                )
            }
        )


CUSTOMER_FIELDS = ("name", "company", "phone_e164", "email", "owner_id", "status")


def customer_fields(customer: Customer) -> dict[str, Any]:
    return {field: getattr(customer, field) for field in CUSTOMER_FIELDS}


def followup_fields(followup: FollowUp) -> dict[str, Any]:
    return {
        "customer_id": followup.customer_id,
        "owner_id": followup.owner_id,
        "contacted_at": followup.contacted_at.isoformat(),
        "method": followup.method,
        "summary": followup.summary,
        "feedback": followup.feedback,
        "status_after": followup.status_after,
        "next_at": followup.next_at.isoformat(),
        "next_action": followup.next_action,
        "notes": followup.notes,
        "state": followup.state,
    }


def _create_customer(
    session: Session, entry: ValidFollowup, author_id: str, now: datetime
) -> Customer:
    customer = Customer(
        name=entry.customer_name,
        company=entry.company,
        name_key=normalize_person(entry.customer_name),
        company_key=normalize_company(entry.company),
        owner_since=now,
        phone_e164=entry.phone_e164,
        email=entry.email,
        owner_id=entry.owner_id,
        status=entry.status,
        created_by=author_id,
        created_at=now,
        updated_at=now,
    )
    session.add(customer)
    session.flush()
    queries.log_change(
        session,
        actor_id=author_id,
        entity="customer",
        entity_id=customer.id,
        action="create",
        before=None,
        after=customer_fields(customer),
        at=now,
    )
    return customer


def _update_customer(
    session: Session,
    customer: Customer,
    entry: ValidFollowup,
    author_id: str,
    now: datetime,
    *,
    may_change_details: bool,
) -> None:
    """Apply what this entry says about the customer; log exactly the fields that changed.

    A blank phone or email in the form means "not given this time", never "erase it"; an email
    that belongs to another customer stays theirs. Ownership is not changed by logging a
    follow-up — only by an explicit reassign. Someone logging for a colleague's customer adds
    their follow-up (and its status) but never rewrites the colleague's record.
    """
    wanted: dict[str, Any] = {"status": entry.status}
    if may_change_details:
        email = entry.email or customer.email
        if (
            email != customer.email
            and email
            and queries.email_taken_by_other(session, email, customer.id)
        ):
            email = customer.email
        check_phone_free(session, entry.phone_e164, customer)
        wanted |= {
            "name": entry.customer_name,
            "company": entry.company,
            "phone_e164": entry.phone_e164 or customer.phone_e164,
            "email": email,
        }
    before = {k: getattr(customer, k) for k, v in wanted.items() if getattr(customer, k) != v}
    if not before:
        return
    for field in before:
        setattr(customer, field, wanted[field])
    customer.name_key = normalize_person(customer.name)
    customer.company_key = normalize_company(customer.company)
    queries.record_change(
        session,
        customer,
        actor_id=author_id,
        action="update",
        before=before,
        after={field: wanted[field] for field in before},
        at=now,
    )


def check_phone_free(session: Session, phone: str | None, customer: Customer) -> None:
    """A number that is another customer's can't be given to this one (it would be two people
    with one phone); say whose it is rather than fail on the unique index."""
    if not phone or phone == customer.phone_e164:
        return
    holder = queries.find_customer_by_contact(session, phone_e164=phone, email=None)
    if holder is not None and holder.id != customer.id:
        raise FormError(
            {
                "phone": _(
                    "This number already belongs to {name} · {company}.",
                    name=holder.name,
                    company=holder.company,
                )
            }
        )


def _close_superseded(
    session: Session, customer: Customer, author_id: str, contacted_at: datetime, now: datetime
) -> int:
    """A new entry for a customer replaces their open follow-up, as a new row in the sheet would.

    Without this the old "next contact" would still come due and remind someone of a call that has
    just happened.
    """
    superseded = queries.open_followups_for_customer(session, customer.id)
    for followup in superseded:
        close_followup(
            session, followup, actor_id=author_id, at=contacted_at, action="superseded", now=now
        )
    return len(superseded)


def close_followup(
    session: Session,
    followup: FollowUp,
    *,
    actor_id: str,
    at: datetime,
    action: str,
    now: datetime | None = None,
) -> None:
    """Mark an open follow-up done (as of `at`), logged at `now`; it won't be reminded again."""
    followup.state, followup.done_at, followup.done_by = "done", at, actor_id
    followup.remind_at = None
    queries.record_change(
        session,
        followup,
        actor_id=actor_id,
        action=action,
        before={"state": "open"},
        after={"state": "done"},
        at=now or at,
    )


@dataclass(frozen=True)
class CustomerSnapshot:
    """A customer's details as the modal pre-fills them for one viewer: contact details only
    if that viewer may see them (the owner, their manager, an admin)."""

    id: int
    name: str
    company: str
    phone_e164: str | None
    email: str | None
    owner_id: str
    owner_since: datetime | None
    status: str
    followup_count: int
    contact_visible: bool


def _snapshot(
    session: Session, settings: Settings, customer: Customer, viewer_id: str
) -> CustomerSnapshot:
    visible = may_act_on(session, settings, actor_id=viewer_id, owner_id=customer.owner_id)
    return CustomerSnapshot(
        id=customer.id,
        name=customer.name,
        company=customer.company,
        phone_e164=customer.phone_e164 if visible else None,
        email=customer.email if visible else None,
        owner_id=customer.owner_id,
        owner_since=customer.owner_since or customer.created_at,
        status=customer.status,
        followup_count=queries.count_followups(session, customer.id),
        contact_visible=visible,
    )


def find_customer_by_name(
    db: Database, settings: Settings, name: str, *, viewer_id: str
) -> CustomerSnapshot | None:
    """The one customer with this name (compared normalised), or None if none or ambiguous."""
    with db.reader() as session:
        matches = queries.find_customers_by_name_key(session, normalize_person(name), limit=2)
        return _snapshot(session, settings, matches[0], viewer_id) if len(matches) == 1 else None


def find_customer_by_id(
    db: Database, settings: Settings, customer_id: int, *, viewer_id: str
) -> CustomerSnapshot | None:
    with db.reader() as session:
        customer = queries.get_customer(session, customer_id)
        return _snapshot(session, settings, customer, viewer_id) if customer else None
