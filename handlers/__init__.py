"""Slack listeners, one module per surface; `register_all` wires them into a Bolt app."""

from __future__ import annotations

from slack_bolt import App

from handlers import commands, edit, erase, events, home, merge, modal, reminders, team, views


def register_all(app: App) -> None:
    commands.register(app)
    views.register(app)
    reminders.register(app)
    events.register(app)
    home.register(app)
    modal.register(app)
    edit.register(app)
    team.register(app)
    merge.register(app)
    erase.register(app)
