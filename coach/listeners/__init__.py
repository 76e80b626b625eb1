"""Slack listeners, grouped by surface. Each module has `register(app)`.

- commands.py: `/lost` (where a review starts; `LostFastPath` brings every `/lost` here ahead of Bolt's routing)
- shortcuts.py: the "Review a lost deal" global shortcut
- views.py: modal submissions and closes (the review steps)
- actions.py: buttons (back, resume, start fresh, Home)
- events.py: app_home_opened
- middleware.py: how the global middlewares (cleaning the payload, the services, a nudge's delivery) are called
"""

from slack_bolt import App

from coach.listeners import actions, commands, events, shortcuts, views


def register_listeners(app: App) -> None:
    for module in (commands, shortcuts, views, actions, events):
        module.register(app)
