"""Events: the Home tab is published when a rep opens it."""

from slack_bolt import App
from slack_sdk import WebClient

from coach.review.home import home_view
from coach.services import Coach


def handle_home_opened(event: dict, client: WebClient, context: dict) -> None:
    if event.get("tab") != "home":
        return
    coach: Coach = context["coach"]
    coach.later.submit(publish_home, coach, client, context.get("team_id"), event["user"])


def publish_home(coach: Coach, client: WebClient, team_id: str | None, user_id: str) -> None:
    profile = coach.profiles.get(team_id, user_id)
    view = home_view(profile.t, coach.reviews.open_draft(team_id, user_id), coach.reviews.recent(team_id, user_id))
    client.views_publish(user_id=user_id, view=view)


def register(app: App) -> None:
    app.event("app_home_opened")(handle_home_opened)
