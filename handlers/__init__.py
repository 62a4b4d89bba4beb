"""Slack listeners, one module per surface; `register_all` wires them into a Bolt app."""

from __future__ import annotations

from slack_bolt import App

from handlers import commands, events, home, reminders, views


def register_all(app: App) -> None:
    commands.register(app)
    views.register(app)
    reminders.register(app)
    events.register(app)
    home.register(app)
