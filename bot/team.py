"""The team rules: admins (from ADMIN_USER_IDS) name the managers and say which reps report to whom.

The model is kept flat — a manager has no manager of their own and is never someone's rep — so
`bot.permissions` can answer "may this manager act on that owner?" with one lookup. Every change
is written to the change log (entity "team") in the same transaction as the change itself.
Nothing here knows about Slack payloads; errors are keyed by the team modal's block_ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from bot.followups import FormError
from bot.i18n import Text, _, _n
from bot.permissions import SLACK_USER_ID, NotAllowedError
from bot.settings import Settings
from storage import queries, team
from storage.db import Database
from storage.models import TeamMember

# More than any sales team has; a forged payload listing thousands of ids is refused, not stored.
MAX_PICKS: Final = 100
ENTITY: Final = "team"


@dataclass(frozen=True)
class TeamView:
    """What the team modal shows: the managers, and each one's reps (both sorted by user id)."""

    managers: tuple[str, ...]
    reps_by_manager: dict[str, tuple[str, ...]]


def team_view(db: Database) -> TeamView:
    with db.reader() as session:
        managers = tuple(team.managers(session))
        reps = {manager: tuple(team.reps_of(session, manager)) for manager in managers}
    return TeamView(managers=managers, reps_by_manager=reps)


@dataclass(frozen=True)
class _Request:
    """A validated team change: ids checked, duplicates dropped, order kept."""

    managers: tuple[str, ...]
    assign_manager: str | None
    assign_reps: tuple[str, ...]


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))


def _bad_ids(ids: Iterable[str]) -> list[str]:
    return [user_id for user_id in ids if not SLACK_USER_ID.match(user_id)]


def _mention_list(user_ids: Sequence[str]) -> Text | str:
    """`<@a>, <@b>` as a message, so each language joins the names its own way ("、" in Chinese)."""
    listed: Text | str = f"<@{user_ids[0]}>"
    for user_id in user_ids[1:]:
        listed = _("{list}, <@{user}>", list=listed, user=user_id)
    return listed


def _validate(
    managers: Sequence[str], assign_manager: str | None, assign_reps: Sequence[str]
) -> _Request:
    """All problems at once, under the field they concern, in words an admin can act on."""
    errors: dict[str, Text] = {}
    wanted = _unique(managers)
    reps = _unique(assign_reps)
    manager = assign_manager or None
    if _bad_ids(wanted):
        errors["managers"] = _("Pick managers from the list of people in Slack.")
    elif len(wanted) > MAX_PICKS:
        errors["managers"] = _("A team can have at most {limit} managers.", limit=MAX_PICKS)
    if manager is not None and not SLACK_USER_ID.match(manager):
        errors["assign_manager"] = _("Pick the manager from the list of people in Slack.")
    elif manager is not None and manager not in wanted:
        errors["assign_manager"] = _(
            "<@{manager}> isn't a manager — add them under Managers first, or pick a manager.",
            manager=manager,
        )
    elif manager is None and reps:
        errors["assign_manager"] = _("Pick the manager these reps report to.")
    if _bad_ids(reps):
        errors["assign_reps"] = _("Pick reps from the list of people in Slack.")
    elif len(reps) > MAX_PICKS:
        errors["assign_reps"] = _("Assign at most {limit} reps at a time.", limit=MAX_PICKS)
    elif manager is not None and manager in reps:
        errors["assign_reps"] = _("<@{manager}> can't report to themselves.", manager=manager)
    elif clashes := [rep for rep in reps if rep in wanted]:
        errors["assign_reps"] = _n(
            "{names} is listed as a manager — a manager can't also be a rep. "
            "Remove them from one of the two.",
            "{names} are listed as managers — a manager can't also be a rep. "
            "Remove them from one of the two.",
            len(clashes),
            names=_mention_list(clashes),
        )
    elif manager is not None and not reps:
        # A manager picked with no one to assign is a half-done change; say so, don't guess.
        errors["assign_reps"] = _("Pick the reps who report to this manager, or clear the manager.")
    if errors:
        raise FormError(errors)
    return _Request(managers=wanted, assign_manager=manager, assign_reps=reps)


def update_team(
    db: Database,
    settings: Settings,
    *,
    actor_id: str,
    managers: Sequence[str],
    assign_manager: str | None,
    assign_reps: Sequence[str],
    now: datetime,
    opened_with: Sequence[str] | None = None,
) -> list[Text]:
    """Make `managers` exactly the set of managers, then have `assign_reps` report to
    `assign_manager`. Admins only. One transaction; returns a line per change, for the
    confirmation (empty when nothing changed)."""
    if actor_id not in settings.admins:
        # The team belongs to no one in particular: there is no owner to name.
        raise NotAllowedError("")
    request = _validate(managers, assign_manager, assign_reps)
    with db.transaction() as session:
        changes = _Changes(session, actor_id=actor_id, at=now)
        current = set(team.managers(session))
        if opened_with is not None and current != set(opened_with):
            # Another admin changed the managers after this form was opened: saving its list
            # would silently undo their change.
            raise FormError(
                {
                    "managers": _(
                        "Another admin changed the managers since you opened this form — "
                        "close it and run /followup team again to see the current team."
                    )
                }
            )
        for removed in sorted(current - set(request.managers)):
            changes.remove_manager(removed)
        for added in request.managers:
            if added not in current:
                changes.add_manager(added)
        if request.assign_manager is not None:
            for rep in request.assign_reps:
                changes.assign(rep, request.assign_manager)
        return changes.lines


class _Changes:
    """Applies team changes in one session, logging each and collecting its line."""

    def __init__(self, session: Session, *, actor_id: str, at: datetime) -> None:
        self.session = session
        self.actor_id = actor_id
        self.at = at
        self.lines: list[Text] = []

    def _log(self, action: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        queries.log_change(
            self.session,
            actor_id=self.actor_id,
            entity=ENTITY,
            entity_id=None,
            action=action,
            before=before,
            after=after,
            at=self.at,
        )

    def _set(self, user_id: str, *, role: str, manager_id: str | None) -> None:
        team.set_member(
            self.session,
            user_id=user_id,
            role=role,
            manager_id=manager_id,
            by=self.actor_id,
            at=self.at,
        )

    def _unassigned(self, rep: str, manager: str, line: Text) -> None:
        self._log(
            "rep_unassigned",
            {"user_id": rep, "manager_id": manager},
            {"user_id": rep, "manager_id": None},
        )
        self.lines.append(line)

    def remove_manager(self, manager: str) -> None:
        reps = list(team.reps_of(self.session, manager))
        self.session.flush()
        team.unassign_reps_of(self.session, manager, by=self.actor_id, at=self.at)
        # That was a bulk UPDATE: drop what the session holds so later reads see it.
        self.session.expire_all()
        self._set(manager, role="rep", manager_id=None)
        self._log(
            "manager_removed",
            {"user_id": manager, "role": "manager", "reps": reps},
            {"user_id": manager, "role": "rep", "reps": []},
        )
        self.lines.append(_("<@{user}> is no longer a manager.", user=manager))
        for rep in reps:
            self._unassigned(
                rep,
                manager,
                _(
                    "<@{rep}> no longer reports to <@{manager}> (manager removed).",
                    rep=rep,
                    manager=manager,
                ),
            )

    def add_manager(self, user_id: str) -> None:
        prior = self.session.get(TeamMember, user_id)
        prior_role = prior.role if prior is not None else None
        prior_manager = prior.manager_id if prior is not None else None
        # Managers report to no one (the model stays flat), so a promoted rep leaves their manager.
        self._set(user_id, role="manager", manager_id=None)
        self._log(
            "manager_added",
            {"user_id": user_id, "role": prior_role},
            {"user_id": user_id, "role": "manager"},
        )
        self.lines.append(_("<@{user}> is now a manager.", user=user_id))
        if prior_manager is not None:
            self._unassigned(
                user_id,
                prior_manager,
                _(
                    "<@{rep}> no longer reports to <@{manager}> (now a manager).",
                    rep=user_id,
                    manager=prior_manager,
                ),
            )

    def assign(self, rep: str, manager: str) -> None:
        prior = self.session.get(TeamMember, rep)
        prior_manager = prior.manager_id if prior is not None else None
        if prior is not None and prior.role == "rep" and prior_manager == manager:
            return  # already so: nothing to change or log
        self._set(rep, role="rep", manager_id=manager)
        self._log(
            "rep_assigned",
            {"user_id": rep, "manager_id": prior_manager},
            {"user_id": rep, "manager_id": manager},
        )
        if prior_manager:
            self.lines.append(
                _(
                    "<@{rep}> now reports to <@{manager}> (moved from <@{previous}>).",
                    rep=rep,
                    manager=manager,
                    previous=prior_manager,
                )
            )
        else:
            self.lines.append(_("<@{rep}> now reports to <@{manager}>.", rep=rep, manager=manager))
