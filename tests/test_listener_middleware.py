"""The app's global middlewares, called by Bolt's real dispatch with the body and the context."""

from __future__ import annotations

from urllib.parse import urlencode

from slack_bolt import App, BoltRequest, BoltResponse

from coach.listeners.middleware import BodyContextMiddleware
from tests.fakeslack import FakeSlack


def _bolt_app(fake_slack: FakeSlack) -> App:
    # Bolt's own authorization asks the (fake) Slack's auth.test once.
    return App(
        client=fake_slack.client(),
        signing_secret="not-checked",
        token_verification_enabled=False,
        request_verification_enabled=False,
        process_before_response=True,
    )


def _lost(text: str = "") -> BoltRequest:
    body = urlencode({"command": "/lost", "text": text, "user_id": "U1", "team_id": "T1", "trigger_id": "1.2"})
    return BoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})


def test_middlewares_see_the_body_and_the_context_in_order_and_the_listener_what_they_left(fake_slack: FakeSlack):
    app = _bolt_app(fake_slack)
    seen: list[str] = []

    def first(body: dict, context: dict, next) -> None:  # noqa: A002
        seen.append(f"first saw {body['text']}")
        context["coach"] = "the services"
        next()

    def second(body: dict, context: dict, next) -> None:  # noqa: A002
        seen.append(f"second saw {context['coach']}")
        next()

    app.use(BodyContextMiddleware(first))
    app.use(BodyContextMiddleware(second))

    @app.command("/lost")
    def lost(ack, context):
        ack(text=f"listener saw {context['coach']}")

    resp = app.dispatch(_lost("Acme"))
    assert resp.status == 200 and "listener saw the services" in resp.body
    assert seen == ["first saw Acme", "second saw the services"]


def test_a_middleware_that_does_not_go_on_answers_with_its_own_response(fake_slack: FakeSlack):
    app = _bolt_app(fake_slack)
    called: list[str] = []

    def refuse(body: dict, context: dict, next) -> BoltResponse:  # noqa: A002
        return BoltResponse(status=403, body="not for you")

    app.use(BodyContextMiddleware(refuse))

    @app.command("/lost")
    def lost(ack):
        called.append("listener")
        ack()

    resp = app.dispatch(_lost())
    assert (resp.status, resp.body) == (403, "not for you")
    assert called == []
