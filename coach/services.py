"""Coach: the services a flow may use, built once by the composition root (`coach.app.wiring`).

Listeners find it in Bolt's context (`context["coach"]`) and hand it to the
flows. It holds no logic of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk import WebClient

from coach.background import BackgroundWork, Coalesced
from coach.config import Settings
from coach.crm.hubspot import HubSpotCrm
from coach.crm.service import CrmLossService
from coach.db import Database
from coach.digest.service import Digester
from coach.events import Events
from coach.home.refresher import HomeRefresher
from coach.home.service import HomeService
from coach.nudges.service import NudgeService
from coach.review.service import ReviewService
from coach.slack.emails import EmailDirectory
from coach.slack.managers import ManagerDirectory
from coach.slack.profiles import Profiles
from coach.wins.service import WinService


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
    wins: WinService
    later: BackgroundWork
    home: HomeService
    managers: ManagerDirectory
    digests: Digester
    events: Events = field(default_factory=Events)
    home_refresh: HomeRefresher = field(default_factory=HomeRefresher)
    clock: Callable[[], datetime] = field(default=utcnow)
    # CRM losses (issue 10): None while no CRM is configured.
    crm_losses: CrmLossService | None = None
    hubspot: HubSpotCrm | None = None
    emails: EmailDirectory | None = None
    crm_passes: Coalesced | None = None  # the CRM worker's passes after a webhook's answer
