"""Settings from the environment or `.env` (pydantic-settings).

A missing or invalid setting stops the app with one line naming it; see
`load_settings`.
"""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///lost_deal_coach.db"
SLACK_API_URL = "https://slack.com/api/"
HUBSPOT_API_URL = "https://api.hubapi.com"


class DatabaseSettings(BaseSettings):
    """The part of the settings Alembic needs; it needs no Slack secrets."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL


class Settings(DatabaseSettings):
    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr
    slack_app_token: SecretStr | None = None
    slack_api_url: str = SLACK_API_URL
    port: int = Field(default=3000, ge=1, le=65535)
    host: str = "0.0.0.0"
    manager_channel: str | None = None
    default_locale: Literal["ja", "en"] = "en"
    default_timezone: str = "UTC"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # Modals are opened (views.open, views.push) by a second process, so that opening them and answering
    # Slack run on two cores (coach/slack/call_process.py). false: one process does everything.
    slack_call_process: bool = True

    # Nudges (the schedule after a loss).
    reminder_lead_minutes: int = Field(default=60, ge=0, le=24 * 60)
    # Reps' local quiet hours, start-end (equal times: none). Self-checks and re-contacts move to 10:00, or to
    # the end of quiet hours when those cover 10:00.
    quiet_hours: str = "20:00-08:00"
    scheduler_tick_seconds: float = Field(default=15, gt=0, le=3600)
    nudge_batch_size: int = Field(default=100, ge=1, le=1000)
    nudge_max_attempts: int = Field(default=5, ge=1, le=50)
    # A nudge claimed longer ago than this by an instance that never finished
    # is checked against the rep's DM history and then sent or marked sent.
    nudge_lease_seconds: float = Field(default=120, gt=0)
    # Slack allows about one message a second per channel and a workspace-wide
    # limit it does not publish; this caps the dispatcher overall. 0 = no cap.
    slack_messages_per_second: float = Field(default=10, ge=0)
    # Checking a rep's DM for a nudge in doubt (conversations.open / conversations.history, Slack's Tier 3:
    # about 50 a minute). 0 = no cap.
    slack_lookups_per_minute: float = Field(default=50, ge=0)

    # Managers' digest.
    digest_cron: str = "0 9 * * mon"
    team_timezone: str = "UTC"
    # Comma-separated user ids (U...); members of MANAGER_CHANNEL count as managers too.
    manager_user_ids: str = ""

    # CRM (all optional; without them the /crm/* endpoints answer 404 and nothing changes).
    # HubSpot app: the client secret verifies its webhooks, the access token reads deals and writes notes.
    hubspot_client_secret: SecretStr | None = None
    hubspot_access_token: SecretStr | None = None
    hubspot_api_url: str = HUBSPOT_API_URL
    # Comma-separated internal names of the deal stages that mean "lost" (one per pipeline).
    hubspot_lost_stages: str = "closedlost"
    # An optional deal property naming the competitor that won; the review's competitor is filled from it.
    hubspot_competitor_property: str | None = None
    # The deal property holding the lost reason: read for the review, written back when empty.
    hubspot_lost_reason_property: str = "closed_lost_reason"
    # Signs POST /crm/webhook (any other CRM).
    crm_webhook_secret: SecretStr | None = None
    # What a finished review writes back to the CRM: shared (the full note only for reviews shared with the
    # manager, a neutral "reviewed" note otherwise), always, or never.
    crm_write_back: Literal["shared", "always", "never"] = "shared"

    @property
    def hubspot_enabled(self) -> bool:
        return self.hubspot_client_secret is not None

    @property
    def manager_ids(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.manager_user_ids.split(",") if u.strip())

    @field_validator("digest_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(v)
        except ValueError as e:
            raise ValueError(f"must be a crontab line such as '0 9 * * mon' ({e})") from None
        return v

    @field_validator("manager_user_ids")
    @classmethod
    def _user_ids(cls, v: str) -> str:
        for u in (x.strip() for x in v.split(",")):
            if u and not re.fullmatch(r"[UW][A-Z0-9]{2,}", u):
                raise ValueError(f"'{u}' is not a Slack user id such as U0123456789")
        return v

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, v: SecretStr) -> SecretStr:
        if not v.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return v

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return None
        if not v.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return v

    @field_validator("slack_signing_secret")
    @classmethod
    def _secret_present(cls, v: SecretStr) -> SecretStr:
        if not v.get_secret_value().strip():
            raise ValueError("must not be empty")
        return v

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        if not re.match(r"^https?://", v):
            raise ValueError("must be an http(s) URL")
        return v if v.endswith("/") else v + "/"

    @field_validator("hubspot_api_url")
    @classmethod
    def _hubspot_url(cls, v: str) -> str:
        if not re.match(r"^https?://", v):
            raise ValueError("must be an http(s) URL")
        return v.rstrip("/")

    @field_validator("hubspot_client_secret", "hubspot_access_token", "crm_webhook_secret", mode="before")
    @classmethod
    def _optional_secret(cls, v):
        return None if v is None or not str(v.get_secret_value() if isinstance(v, SecretStr) else v).strip() else v

    @field_validator("hubspot_competitor_property", mode="before")
    @classmethod
    def _optional_name(cls, v: str | None) -> str | None:
        return None if v is None or not str(v).strip() else str(v).strip()

    @field_validator("hubspot_lost_stages")
    @classmethod
    def _stages(cls, v: str) -> str:
        if not [s for s in v.split(",") if s.strip()]:
            raise ValueError("must name at least one deal stage, e.g. closedlost")
        return v

    @field_validator("hubspot_lost_reason_property")
    @classmethod
    def _property_name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9_]{1,100}", v.strip()):
            raise ValueError("must be a HubSpot property's internal name, e.g. closed_lost_reason")
        return v.strip()

    @field_validator("crm_write_back", mode="before")
    @classmethod
    def _write_back_case(cls, v: str) -> str:
        return str(v).strip().lower()

    @field_validator("manager_channel", mode="before")
    @classmethod
    def _channel_id(cls, v: str | None) -> str | None:
        if v is None or not str(v).strip():
            return None
        if not re.fullmatch(r"[CG][A-Z0-9]{2,}", str(v).strip()):
            raise ValueError("must be a channel id such as C0123456789 (not a #name)")
        return str(v).strip()

    @field_validator("default_locale", "log_level", mode="before")
    @classmethod
    def _normalise_case(cls, v: str, info) -> str:
        v = str(v).strip()
        return v.lower() if info.field_name == "default_locale" else v.upper()

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, v: str) -> str:
        from coach.nudges.rules import QuietHours

        QuietHours.parse(v)  # raises ValueError with the reason
        return v

    @field_validator("default_timezone", "team_timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Asia/Tokyo") from None
        return v


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it in one line."""


def describe_validation_error(err: ValidationError) -> str:
    problems = []
    for e in err.errors():
        name = str(e["loc"][0]).upper() if e["loc"] else "settings"
        if e["type"] == "missing":
            problems.append(f"{name} is missing (set it in the environment or .env)")
        else:
            problems.append(f"{name} is invalid: {e['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as err:
        raise ConfigError(f"Configuration error: {describe_validation_error(err)}") from None
