"""Events: the Home tab is published when a rep opens it (coach/flows/home.py builds it)."""

from slack_bolt import App
from slack_sdk import WebClient

from coach.flows.home import refresh_home
from coach.services import Coach


def handle_home_opened(event: dict, client: WebClient, context: dict) -> None:
    if event.get("tab") != "home":
        return
    coach: Coach = context["coach"]
    refresh_home(coach, client, context.get("team_id"), event.get("user"), looking=True)


def register(app: App) -> None:
    app.event("app_home_opened")(handle_home_opened)
