"""`/followup team`: the admins' modal for managers and their reps.

Who may change the team is decided here and again in `bot.team`, on the server, from
ADMIN_USER_IDS — never from what the view carries: a submission is only as trustworthy as its
sender, and anyone can post a view_submission that looks like this modal.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, Final

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.followups import FormError
from bot.i18n import Message, Translator
from bot.permissions import NotAllowedError
from bot.services import Services, services_from
from bot.team import TeamView, team_view, update_team
from handlers.blocks import mrkdwn, plain
from handlers.form import selected_user, state_values

logger = logging.getLogger(__name__)

TEAM_CALLBACK: Final = "team_modal"

# Slack's limits: 3,000 characters a section, 100 blocks a modal. Leave room for the inputs.
SECTION_CHARS: Final = 2_900
MAX_MANAGER_SECTIONS: Final = 40
MESSAGE_CHARS: Final = 2_900


def register(app: App) -> None:
    app.view(TEAM_CALLBACK)(handle_team_submission)


def is_admin(services: Services, user_id: str) -> bool:
    return user_id in services.settings.admins


def _refusal(t: Translator) -> str:
    return t.gettext(
        "Only admins can manage the team. Ask one of them (they are set in ADMIN_USER_IDS) "
        "to add you as a manager or to assign you to one."
    )


def team_refusal(t: Translator) -> dict[str, Any]:
    """The ephemeral answer to a non-admin's `/followup team`."""
    refusal = _refusal(t)
    return {
        "response_type": "ephemeral",
        "text": refusal,
        "blocks": [{"type": "section", "text": mrkdwn(f":lock: {refusal}")}],
    }


def run_team_command(
    ack: Ack, respond: Respond, services: Services, client: WebClient, *, command: dict[str, Any]
) -> None:
    """All of `/followup team` for the command router: refuse non-admins, else open the modal."""
    user_id = str(command.get("user_id") or "")
    t = services.users.translator(user_id)
    if not is_admin(services, user_id):
        ack(**team_refusal(t))
        return
    ack()
    if not open_team_modal(
        services, client, trigger_id=str(command.get("trigger_id") or ""), user_id=user_id
    ):
        respond(
            text=t.gettext(
                "Couldn't open the team form just now — please run /followup team again."
            ),
            response_type="ephemeral",
        )


def open_team_modal(
    services: Services, client: WebClient, *, trigger_id: str, user_id: str
) -> bool:
    """Open the modal showing the team as it is now; False (and a log line) if Slack refused.

    The caller decides who may open it (see `run_team_command`); submitting is re-checked anyway.
    """
    view = team_modal(team_view(services.db), services.users.translator(user_id))
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        logger.warning("views.open (team) for %s failed: %s", user_id, error.response.get("error"))
        return False
    return True


# --- Block Kit -------------------------------------------------------------------------------


def _input(block_id: str, label: str, element: dict[str, Any], hint: str) -> dict[str, Any]:
    # Same rule as the follow-up form: each input's action_id equals its block_id.
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {**element, "action_id": block_id},
        "optional": True,
        "hint": plain(hint),
    }


def _mentions(user_ids: tuple[str, ...], budget: int, t: Translator) -> str:
    """`<@a>, <@b>` (`<@a>、<@b>` in Chinese) within `budget` characters, ending "+N more" when
    cut."""
    separator = t.join(("", ""))
    text = ""
    for index, user_id in enumerate(user_ids):
        piece = (separator if text else "") + f"<@{user_id}>"
        more = " " + t.ngettext("+{count} more rep", "+{count} more reps", len(user_ids) - index)
        if len(text) + len(piece) + len(more) > budget:
            return text + more
        text += piece
    return text


def _team_blocks(view: TeamView, t: Translator) -> list[dict[str, Any]]:
    if not view.managers:
        text = t.gettext("*Current team*\nNo managers yet — everyone is a rep of no one.")
        return [{"type": "section", "text": mrkdwn(text)}]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": mrkdwn(t.gettext("*Current team*"))}
    ]
    for manager in view.managers[:MAX_MANAGER_SECTIONS]:
        reps = view.reps_by_manager.get(manager, ())
        if reps:
            head = t.gettext("*<@{manager}>* — {reps}", manager=manager, reps="")
            listed = _mentions(reps, SECTION_CHARS - len(head), t)
            line = t.gettext("*<@{manager}>* — {reps}", manager=manager, reps=listed)
        else:
            line = t.gettext("*<@{manager}>* — _no reps yet_", manager=manager)
        blocks.append({"type": "section", "text": mrkdwn(line)})
    hidden = len(view.managers) - MAX_MANAGER_SECTIONS
    if hidden > 0:
        more = t.ngettext(
            "+{count} more manager (all are in Managers below).",
            "+{count} more managers (all are in Managers below).",
            hidden,
        )
        blocks.append({"type": "context", "elements": [mrkdwn(more)]})
    return blocks


def team_modal(view: TeamView, t: Translator) -> dict[str, Any]:
    """The admins' team modal; `managers` starts with the current managers."""
    managers: dict[str, Any] = {
        "type": "multi_users_select",
        "placeholder": plain(t.gettext("No managers")),
    }
    if view.managers:
        managers["initial_users"] = list(view.managers)
    # The managers as shown, so a save can tell whether someone changed them meanwhile.
    opened_with = json.dumps(sorted(view.managers))
    explainer = t.gettext(
        "A manager can see and act on their reps' customers and follow-ups, and gets "
        "their escalations. Admins (ADMIN_USER_IDS) can act on everyone's."
    )
    blocks = [
        *_team_blocks(view, t),
        {"type": "context", "elements": [mrkdwn(explainer)]},
        {"type": "divider"},
        _input(
            "managers",
            t.gettext("Managers"),
            managers,
            t.gettext(
                "Everyone here is a manager. Remove someone to make them a plain member again; "
                "their reps are then unassigned."
            ),
        ),
        _input(
            "assign_manager",
            t.gettext("Assign reps to"),
            {"type": "users_select", "placeholder": plain(t.gettext("Pick one of the managers"))},
            t.gettext(
                "Optional. One of the managers above (add them there first if they are new)."
            ),
        ),
        _input(
            "assign_reps",
            t.gettext("Reps"),
            {"type": "multi_users_select", "placeholder": plain(t.gettext("Pick the reps"))},
            t.gettext(
                "They report to the manager picked above, moving from any other manager. "
                "A manager can't also be a rep."
            ),
        ),
    ]
    return {
        "type": "modal",
        "callback_id": TEAM_CALLBACK,
        "title": plain(t.gettext("Team")),
        "submit": plain(t.gettext("Save")),
        "close": plain(t.gettext("Cancel")),
        "private_metadata": opened_with,
        "blocks": blocks,
    }


def team_refusal_view(t: Translator) -> dict[str, Any]:
    """What a forged or stale submission by a non-admin turns the modal into."""
    text = t.gettext(
        ":lock: Only admins can manage the team. Ask one of them (they are set in "
        "ADMIN_USER_IDS) to add you as a manager or to assign you to one. Nothing was changed."
    )
    return {
        "type": "modal",
        "title": plain(t.gettext("Team")),
        "close": plain(t.gettext("Close")),
        "blocks": [{"type": "section", "text": mrkdwn(text)}],
    }


def team_confirmation(lines: Sequence[Message], t: Translator) -> dict[str, Any]:
    """The DM after saving: every change, cut to one section with "+N more" if there are many."""
    if not lines:
        return {
            "text": t.gettext("Team saved — nothing changed."),
            "blocks": [
                {
                    "type": "section",
                    "text": mrkdwn(t.gettext(":ok_hand: Team saved — nothing changed.")),
                }
            ],
        }
    count = len(lines)
    body = t.ngettext(
        ":busts_in_silhouette: Team updated — {count} change:",
        ":busts_in_silhouette: Team updated — {count} changes:",
        count,
    )
    for index, line in enumerate(lines):
        shown = t.render(line)
        more = "\n" + t.gettext("…and {count} more (see the change log).", count=count - index)
        if len(body) + len(shown) + 3 + len(more) > MESSAGE_CHARS:
            body += more
            break
        body += f"\n• {shown}"
    return {
        "text": t.ngettext(
            "Team updated — {count} change.", "Team updated — {count} changes.", count
        ),
        "blocks": [{"type": "section", "text": mrkdwn(body)}],
    }


# --- the submission -------------------------------------------------------------------------


def _selected_users(values: Any, block_id: str) -> list[str] | None:
    """A multi_users_select's ids; None when the state is missing or not a list.

    A non-string entry becomes "", which the rules refuse as "not a Slack user", so a mangled
    pick is reported rather than silently dropped.
    """
    block = values.get(block_id) if isinstance(values, dict) else None
    element = block.get(block_id) if isinstance(block, dict) else None
    users = element.get("selected_users") if isinstance(element, dict) else None
    if not isinstance(users, list):
        return None
    return [user if isinstance(user, str) else "" for user in users]


def _opened_with(raw: object) -> list[str] | None:
    try:
        managers = json.loads(raw) if isinstance(raw, str) and raw else None
    except (ValueError, RecursionError):
        return None
    if isinstance(managers, list) and all(isinstance(m, str) for m in managers):
        return managers
    return None


def _user_id(body: dict[str, Any]) -> str:
    user = body.get("user")
    return str(user.get("id") or "") if isinstance(user, dict) else ""


def handle_team_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    services = services_from(context)
    actor = _user_id(body)
    t = services.users.translator(actor)
    if not is_admin(services, actor):
        logger.warning("team change submitted by non-admin %r; refused", actor)
        ack(response_action="update", view=team_refusal_view(t))
        return
    values = state_values(view)
    managers = _selected_users(values, "managers")
    if managers is None:
        # Reading a missing list as "no managers" would demote everyone; ask again instead.
        unreadable = t.gettext("Couldn't read who you picked — pick the managers again.")
        ack(response_action="errors", errors={"managers": unreadable})
        return
    try:
        lines = update_team(
            services.db,
            services.settings,
            actor_id=actor,
            managers=managers,
            assign_manager=selected_user(values, "assign_manager"),
            assign_reps=_selected_users(values, "assign_reps") or [],
            now=services.clock(),
            opened_with=_opened_with(view.get("private_metadata")),
        )
    except NotAllowedError:
        ack(response_action="update", view=team_refusal_view(t))
        return
    except FormError as problems:
        ack(response_action="errors", errors=problems.rendered(t))
        return
    except SQLAlchemyError:
        logger.exception("saving the team failed; the modal stays open")
        failed = t.gettext(
            "Couldn't save the team just now — nothing was changed. Press Save again."
        )
        ack(response_action="errors", errors={"managers": failed})
        return
    ack()
    _confirm(services, client, actor, team_confirmation(lines, t))


def _confirm(services: Services, client: WebClient, admin_id: str, message: dict[str, Any]) -> None:
    try:
        channel = services.users.dm_channel(admin_id)
        client.chat_postMessage(channel=channel, **message)
    except SlackApiError as error:
        logger.warning("couldn't confirm the team change to %s: %s", admin_id, error)
