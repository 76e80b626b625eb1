"""The app's services, built once and handed to every listener through Bolt's context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk import WebClient

from coach.background import BackgroundWork
from coach.config import Settings
from coach.db import Database
from coach.digest.service import Digester
from coach.home.publish import HomeRefresher
from coach.home.service import HomeService
from coach.managers import ManagerDirectory
from coach.nudges.outbox import Policy
from coach.nudges.service import NudgeService
from coach.review.service import ReviewService
from coach.slack.profiles import Profiles


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Coach:
    settings: Settings
    db: Database
    client: WebClient
    profiles: Profiles
    reviews: ReviewService
    nudges: NudgeService
    later: BackgroundWork
    home: HomeService
    managers: ManagerDirectory
    home_refresh: HomeRefresher = field(default_factory=HomeRefresher)
    clock: Callable[[], datetime] = field(default=utcnow)
    digests: Digester = field(init=False)

    @classmethod
    def build(cls, settings: Settings, db: Database, client: WebClient) -> Coach:
        policy = Policy.from_settings(settings)
        coach = cls(
            settings=settings,
            db=db,
            client=client,
            profiles=Profiles(client, default_locale=settings.default_locale, default_tz=settings.default_timezone),
            reviews=ReviewService(db, policy),
            nudges=NudgeService(db, policy),
            later=BackgroundWork(),
            home=HomeService(db),
            managers=ManagerDirectory(client, manager_ids=settings.manager_ids, channel=settings.manager_channel),
        )
        # The same Digester serves the cron job and `/lost digest`; it reads the coach's clock.
        coach.digests = Digester.from_settings(settings, db, client, clock=lambda: coach.clock())
        return coach
